// Fan-out over replicas: live runs of many accounts, on one rebalancer and then on two
// replicas sharing PostgreSQL, each trading through the IBKR adapter with its own client id
// against the TWS test server. TWS paces each client connection (about 50 messages a second, the
// adapter paces itself at 40), so with the accounts spread over two client ids by the leases the
// fan-out should take about half as long: the figure is the speed-up, 2 replicas against 1.
import { performance } from "node:perf_hooks";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { startRebalancer, type RunningRebalancer } from "@mesh/rebalancer/app";
import { createIbkrBroker } from "@mesh/rebalancer/broker/ibkr/ibkr-broker";
import { startTwsServer, type TwsServer } from "../rebalancer/test/tws/tws-server.js";
import type { BenchOptions, BenchSection } from "./bench-section.js";
import { scenarioAccounts, writeScenario, type ScenarioAccount } from "./private/scenario.js";
import { createScratchDir, type ScratchDir } from "./private/scratch-dir.js";
import { twsAccounts, twsInstruments } from "./private/tws-scenario.js";
import { round } from "./sample-stats.js";

/** Live calls each replica is sent at a time: the subscriber's default delivery concurrency. */
const inFlight = 4;
/** The target when TWS's limit is per client connection. */
const targetSpeedUp = 1.8;

interface FanOut {
  seconds: number;
  messages: number;
  busiestSecond: number;
  /** Runs each replica ran (the accounts the leases gave it). */
  runsPerReplica: number[];
}

export async function measureFanOutReplicas(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const count = quick ? 10 : 60;
  const accounts = scenarioAccounts(count, 5, () => "replicas");
  const scratch = createScratchDir("fan-out-replicas");
  const postgres = await startTestPostgres();
  try {
    const one = await fanOut(1, accounts, scratch, postgres);
    const two = await fanOut(2, accounts, scratch, postgres);
    const speedUp = one.seconds / two.seconds;
    return {
      id: "fan-out-replicas",
      title: `Fan-out over replicas: ${count} live runs, 2 rebalancers on PostgreSQL against 1, TWS test server`,
      figures: [
        {
          name: `${count} runs done, 2 replicas (client ids 11, 12)`,
          unit: "s",
          median: round(two.seconds, 2),
          samples: 1,
          baseline: { name: "1 replica (client id 11)", median: round(one.seconds, 2) },
          ratio: round(speedUp, 2),
          ratioMeaning: "1 replica's time / 2 replicas'; 2 is twice as fast",
          target: `at least ${targetSpeedUp}x (TWS's pacing limit is per client connection)`,
          met: speedUp >= targetSpeedUp,
          detail: {
            messages_1: one.messages,
            messages_2: two.messages,
            busiest_second_per_client_1: one.busiestSecond,
            busiest_second_per_client_2: two.busiestSecond,
            runs_per_replica_2: two.runsPerReplica.join("+"),
          },
        },
      ],
      notes: [
        `${count} accounts${quick ? " (quick set; the full set has 60)" : ""}, each run sells 1 symbol and buys 3; ` +
          `the accounts spread evenly over the replicas, ${inFlight} live calls in flight per replica (the subscriber's default delivery concurrency)`,
        "both measured on PostgreSQL (a throwaway local cluster), in one process with the TWS test server",
      ],
    };
  } finally {
    await postgres.stop();
    scratch.remove();
  }
}

/** A live run of the account to its end: its last event's case and message. */
async function liveRun(
  client: Client<typeof RebalancerService>,
  accountId: string,
): Promise<string> {
  let last = "";
  for await (const event of client.rebalance({
    accountId,
    mode: ExecutionMode.LIVE,
    idempotencyKey: `fan-out-${accountId}`,
  })) {
    const message = (event.event.value as { message?: string } | undefined)?.message;
    last = event.event.case === "completed" ? "completed" : `${event.event.case}: ${message}`;
  }
  return last;
}

/** Live runs of every account over `replicas` rebalancers; a fresh server and database. */
async function fanOut(
  replicas: number,
  accounts: ScenarioAccount[],
  scratch: ScratchDir,
  postgres: TestPostgres,
): Promise<FanOut> {
  const scenario = writeScenario(scratch.path(`replicas-${replicas}`), accounts);
  const databaseUrl = parseDatabaseUrl(await postgres.createDatabase());
  let tws: TwsServer | undefined;
  const apps: RunningRebalancer[] = [];
  try {
    tws = await startTwsServer({
      accounts: twsAccounts(accounts),
      instruments: twsInstruments(new Date()),
    });
    for (let i = 0; i < replicas; i++) {
      // The adapter's own defaults, as in production; only the address and client id are the bench's.
      const broker = createIbkrBroker({ host: "127.0.0.1", port: tws.port, clientId: 11 + i });
      await broker.ready();
      apps.push(
        await startRebalancer({
          accountsFile: scenario.accountsFile,
          dataDir: scratch.path(`replicas-${replicas}`, `data-${i}`),
          databaseUrl,
          replica: `bench-${i}`,
          brokerClient: 11 + i,
          broker,
          host: "127.0.0.1",
          port: 0,
        }),
      );
    }
    const clients = apps.map((app) =>
      createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url })),
    );
    tws.resetStats();
    const start = performance.now();
    // Each replica is sent its share of the accounts, `inFlight` calls at a time.
    const outcomes: string[] = [];
    const queues = clients.map((_, r) => accounts.filter((_, i) => i % replicas === r));
    await Promise.all(
      queues.flatMap((queue, r) =>
        Array.from({ length: inFlight }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) {
            outcomes.push(await liveRun(clients[r]!, next.accountId));
          }
        }),
      ),
    );
    const seconds = (performance.now() - start) / 1000;
    const completed = outcomes.filter((o) => o === "completed").length;
    if (completed !== accounts.length) {
      const other = outcomes.find((o) => o !== "completed");
      throw new Error(
        `${completed} of ${accounts.length} runs completed (${replicas} replicas); e.g. ${other}`,
      );
    }
    const byClient = new Map<number, Set<string>>();
    for (const order of tws.market.orders) {
      const runs = byClient.get(order.clientId) ?? new Set();
      byClient.set(order.clientId, runs.add(order.orderRef));
    }
    return {
      seconds,
      messages: tws.messageCount(),
      busiestSecond: tws.maxMessagesPerSecond(),
      runsPerReplica: [...byClient.keys()].sort().map((id) => byClient.get(id)!.size),
    };
  } finally {
    for (const app of apps) await app.close(1000);
    await tws?.close();
  }
}
