// Fan-out: one event on a channel followed by many accounts, the rebalancer trading through the
// IBKR adapter against the TWS-protocol test server. TWS accepts about 50 messages a second from
// a client, so the messages the whole fan-out sent, at 50 a second, set a lower bound on its
// duration: the figure is the measured time against that bound, and the busiest second shows
// whether the limit was ever exceeded.
import { performance } from "node:perf_hooks";
import { startRebalancer, type RunningRebalancer } from "@mesh/rebalancer/app";
import { createIbkrBroker, type IbkrBroker } from "@mesh/rebalancer/broker/ibkr/ibkr-broker";
import { resolveIbkrBrokerOptions } from "@mesh/rebalancer/broker/ibkr/ibkr-broker-options";
import { startSubscriber, type Subscriber } from "../subscriber/src/app.js";
import { loadConfig } from "../subscriber/src/config.js";
import { startTwsServer, type TwsServer } from "../rebalancer/test/tws/tws-server.js";
import type { BenchOptions, BenchSection } from "./bench-section.js";
import { scenarioAccounts, writeScenario } from "./private/scenario.js";
import { twsAccounts, twsInstruments } from "./private/tws-scenario.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { until } from "@mesh/platform/testing/until";
import { round } from "./sample-stats.js";

/** Messages per second TWS accepts from one client before it answers with error 100. */
const twsLimitPerSecond = 50;
/** The target: the fan-out takes at most this multiple of the lower bound. */
const targetRatio = 1.25;
const channel = "fan-out";

export async function measureFanOut(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const count = quick ? 10 : 100;
  const accounts = scenarioAccounts(count, 4, () => channel);
  const scratch = createScratchDir("fan-out");
  const scenario = writeScenario(scratch.dir, accounts);
  let tws: TwsServer | undefined;
  let broker: IbkrBroker | undefined;
  let rebalancer: RunningRebalancer | undefined;
  let subscriber: Subscriber | undefined;
  try {
    tws = await startTwsServer({
      accounts: twsAccounts(accounts),
      instruments: twsInstruments(new Date()),
    });
    // The adapter's own defaults, as in production; only the address is the bench's.
    const brokerOptions = { host: "127.0.0.1", port: tws.port, clientId: 11 };
    const pacePerSecond = resolveIbkrBrokerOptions(brokerOptions).maxRequestsPerSecond;
    broker = createIbkrBroker(brokerOptions);
    await broker.ready();
    rebalancer = await startRebalancer({
      accountsFile: scenario.accountsFile,
      dataDir: scratch.path("rebalancer"),
      broker,
      host: "127.0.0.1",
      port: 0,
    });
    const config = loadConfig({
      ACCOUNTS_FILE: scenario.accountsFile,
      DATA_DIR: scratch.path("subscriber"),
      REBALANCER_API_URL: rebalancer.url,
      SUBSCRIBER_HOST: "127.0.0.1",
      SUBSCRIBER_PORT: "0",
      LOG_LEVEL: "silent",
    });
    subscriber = await startSubscriber(config);
    const inbox = subscriber.inbox;

    tws.resetStats();
    const start = performance.now();
    const res = await fetch(`${subscriber.url}/events/${channel}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ exec: "rebalance", eventId: "fan-out-1" }),
    });
    await res.body?.cancel();
    if (res.status !== 202) throw new Error(`the subscriber answered ${res.status}`);
    await until(
      async () => {
        const counts = await inbox.counts();
        return counts.done + counts.dead >= count;
      },
      count * 5_000,
      `${count} runs done`,
      20,
    );
    const seconds = (performance.now() - start) / 1000;
    const messages = tws.messageCount();
    const busiestSecond = tws.maxMessagesPerSecond();
    const entries = await inbox.list({ state: "done" });
    const completed = entries.filter((e) => e.result?.startsWith("COMPLETED")).length;
    if (completed !== count) {
      const other = entries.find((e) => !e.result?.startsWith("COMPLETED"));
      throw new Error(
        `${completed} of ${count} runs completed; e.g. ${other?.result ?? other?.reason}`,
      );
    }
    const bound = messages / twsLimitPerSecond;
    const ratio = seconds / bound;
    return {
      id: "fan-out",
      title: `Fan-out: one event, ${count} accounts, IBKR adapter against the TWS test server`,
      figures: [
        {
          name: `event to ${count} runs done`,
          unit: "s",
          median: round(seconds, 2),
          samples: 1,
          baseline: {
            name: `${messages} messages at ${twsLimitPerSecond}/s (TWS limit)`,
            median: round(bound, 2),
          },
          ratio: round(ratio, 2),
          ratioMeaning: "time / lower bound; 1 is as fast as TWS allows",
          target: `within ${targetRatio}x of the bound, busiest second at most ${twsLimitPerSecond}`,
          met: ratio <= targetRatio && busiestSecond <= twsLimitPerSecond,
          detail: {
            messages,
            busiest_second: busiestSecond,
            pacing_violations: busiestSecond > twsLimitPerSecond ? "yes" : 0,
            adapter_pace_per_s: pacePerSecond,
            ratio_vs_adapter_pace: round(seconds / (messages / pacePerSecond), 2),
            runs_completed: completed,
            orders: tws.market.orders.length,
            messages_per_account: round(messages / count, 1),
          },
        },
      ],
      notes: [
        `${count} accounts on one channel${quick ? " (quick set; the full set has 100)" : ""}; ` +
          `each run sells 1 symbol and buys 3; ${config.delivery.concurrency} deliveries at a time (the default)`,
        `the adapter paces itself at ${pacePerSecond} messages/s (its default), so its own bound ` +
          `is ${twsLimitPerSecond / pacePerSecond}x the TWS one; fills take 2 x 10 ms at the server`,
      ],
    };
  } finally {
    await subscriber?.close();
    await rebalancer?.close(1000);
    await broker?.close();
    await tws?.close();
    scratch.remove();
  }
}
