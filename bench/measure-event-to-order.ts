// Event to first order: from a message reaching the subscriber (POST /events/{channel}, or a
// message published on the Ably emulator) to the rebalancer's first placeOrder at the simulated
// broker. Baseline: the same run started by calling Rebalance over gRPC directly, which is the
// subscriber's own last step, so the ratio is what the subscriber (inbox, dispatch) adds.
// Samples are taken one at a time, the three paths interleaved; each uses a fresh account (its
// own channel) so every run has orders to place.
import { performance } from "node:perf_hooks";
import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { startTestPostgres } from "@mesh/platform/testing/test-postgres";
import { startRebalancer, type RunningRebalancer } from "@mesh/rebalancer/app";
import type { Broker } from "@mesh/rebalancer/broker/broker";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import { startSubscriber, type Subscriber } from "../subscriber/src/app.js";
import { loadConfig } from "../subscriber/src/config.js";
import {
  createRebalancerClient,
  type RebalancerClient,
} from "../subscriber/src/delivery/rebalancer-client.js";
import {
  startAblyEmulator,
  type AblyEmulator,
} from "../subscriber/test/ably-emulator/ably-emulator.js";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { scenarioAccounts, writeScenario, type ScenarioAccount } from "./private/scenario.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { until } from "@mesh/platform/testing/until";
import { round, sampleStats } from "./sample-stats.js";

/** The target for the p99, ms. */
const targetP99Ms = 20;
/** Time a fill takes at the simulated broker: short, so runs end quickly; never in the figure. */
const fillDelayMs = 1;
/** Unrecorded samples per path first: connections, JIT, SQLite caches. */
const warmUp = 5;

type Path = "webhook" | "ably" | "direct";

export async function measureEventToOrder(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const samples = quick ? 20 : 200;
  const onSqlite = await sampleLatencies(samples);
  // The same on PostgreSQL: inbox and runs in one database shared by both services.
  const postgres = await startTestPostgres();
  let shared: Awaited<ReturnType<typeof sampleLatencies>>;
  try {
    shared = await sampleLatencies(samples, await postgres.createDatabase());
  } finally {
    await postgres.stop();
  }
  return eventToOrderSection(samples, onSqlite, shared);
}

/** Latencies of each path, one sample at a time; on PostgreSQL when `databaseUrl` is given. */
async function sampleLatencies(samples: number, databaseUrl?: string) {
  const perPath = samples + warmUp;
  const accounts: Record<Path, ScenarioAccount[]> = {
    webhook: scenarioAccounts(perPath, 1, (i) => `e2o-webhook-${i}`),
    ably: scenarioAccounts(perPath, 2, (i) => `e2o-ably-${i}`),
    direct: scenarioAccounts(perPath, 3, (i) => `e2o-direct-${i}`),
  };
  const scratch = createScratchDir("event-to-order");
  const scenario = writeScenario(scratch.dir, Object.values(accounts).flat());

  // The broker tells who placed an order first; everything else is the simulated broker's.
  const waiting = new Map<string, { placed(at: number): void; timer: NodeJS.Timeout }>();
  const sim = createSimBroker({ state: scenario.simState, fillDelayMs });
  const broker: Broker = {
    ...sim,
    placeOrder(request) {
      const at = performance.now();
      const waiter = waiting.get(request.accountId);
      if (waiter) {
        waiting.delete(request.accountId);
        clearTimeout(waiter.timer);
        waiter.placed(at);
      }
      return sim.placeOrder(request);
    },
  };
  /** When the account's next order reaches the broker (performance.now()). */
  const orderPlaced = (accountId: string) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(accountId);
        reject(new Error(`no order for ${accountId} within 10 s`));
      }, 10_000);
      waiting.set(accountId, { placed: resolve, timer });
    });

  const latencies: Record<Path, number[]> = { webhook: [], ably: [], direct: [] };
  const accepted: number[] = [];
  let emulator: AblyEmulator | undefined;
  let rebalancer: RunningRebalancer | undefined;
  let subscriber: Subscriber | undefined;
  let direct: RebalancerClient | undefined;
  try {
    emulator = await startAblyEmulator();
    rebalancer = await startRebalancer({
      accountsFile: scenario.accountsFile,
      dataDir: scratch.path("rebalancer"),
      ...(databaseUrl && { databaseUrl: parseDatabaseUrl(databaseUrl) }),
      broker,
      host: "127.0.0.1",
      port: 0,
    });
    const running = await startSubscriber(
      loadConfig({
        ACCOUNTS_FILE: scenario.accountsFile,
        DATA_DIR: scratch.path("subscriber"),
        REBALANCER_API_URL: rebalancer.url,
        SUBSCRIBER_HOST: "127.0.0.1",
        SUBSCRIBER_PORT: "0",
        REALTIME_API_KEY: emulator.key,
        ABLY_ENDPOINT: "127.0.0.1",
        ABLY_PORT: String(emulator.port),
        ABLY_TLS: "false",
        LOG_LEVEL: "silent",
        ...(databaseUrl && { DATABASE_URL: databaseUrl }),
      }),
    );
    subscriber = running;
    const { inbox, status } = running;
    direct = createRebalancerClient({ url: rebalancer.url });
    let delivered = 0;
    const deliveredAll = (count: number) =>
      until(async () => (await inbox.counts()).done >= count, 10_000, "run done", 2);

    const channels = accounts.ably.map((a) => a.strategy);
    await until(
      () => channels.every((c) => status().realtime.channels[c]?.state === "attached"),
      30_000,
      "Ably channels attached",
      20,
    );
    for (let i = 0; i < perPath; i++) {
      const record = i >= warmUp;
      const event = (path: Path) => ({ exec: "rebalance", eventId: `e2o-${path}-${i}` });

      const webhook = accounts.webhook[i]!;
      let placed = orderPlaced(webhook.accountId);
      let start = performance.now();
      const res = await fetch(`${running.url}/events/${webhook.strategy}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(event("webhook")),
      });
      const answered = performance.now();
      await res.body?.cancel();
      if (res.status !== 202) throw new Error(`the subscriber answered ${res.status}`);
      let at = await placed;
      if (record) {
        latencies.webhook.push(at - start);
        accepted.push(answered - start);
      }
      await deliveredAll(++delivered);

      const ably = accounts.ably[i]!;
      placed = orderPlaced(ably.accountId);
      start = performance.now();
      emulator.publish(ably.strategy, [{ name: "event", data: JSON.stringify(event("ably")) }]);
      at = await placed;
      if (record) latencies.ably.push(at - start);
      await deliveredAll(++delivered);

      const own = accounts.direct[i]!;
      placed = orderPlaced(own.accountId);
      start = performance.now();
      const stream = direct.service.rebalance({
        accountId: own.accountId,
        mode: ExecutionMode.LIVE,
        idempotencyKey: `e2o-direct-${i}`,
        waitIfBusy: true,
      });
      const consumed = (async () => {
        for await (const _ of stream);
      })();
      at = await placed;
      if (record) latencies.direct.push(at - start);
      await consumed;
    }
  } finally {
    for (const waiter of waiting.values()) clearTimeout(waiter.timer);
    direct?.close();
    await subscriber?.close();
    await rebalancer?.close(1000);
    await emulator?.close();
    scratch.remove();
  }
  return { latencies, accepted, channels: accounts.webhook.length + accounts.ably.length };
}

/** The section: each path against the direct call, and on PostgreSQL against SQLite. */
function eventToOrderSection(
  samples: number,
  { latencies, accepted, channels }: Awaited<ReturnType<typeof sampleLatencies>>,
  shared: Awaited<ReturnType<typeof sampleLatencies>>,
): BenchSection {
  const baseline = sampleStats(latencies.direct);
  const figure = (path: Exclude<Path, "direct">, name: string): BenchFigure => {
    const stats = sampleStats(latencies[path]);
    return {
      name,
      unit: "ms",
      median: round(stats.median),
      p99: round(stats.p99),
      samples: stats.count,
      baseline: {
        name: "Rebalance over gRPC, no subscriber",
        median: round(baseline.median),
        p99: round(baseline.p99),
      },
      ratio: round(stats.median / baseline.median, 2),
      ratioMeaning: "median / baseline median; the rest is what the subscriber adds",
      target: `p99 under ${targetP99Ms} ms`,
      met: stats.p99 < targetP99Ms,
      ...(path === "webhook"
        ? { detail: { answered_202_median_ms: round(sampleStats(accepted).median) } }
        : {}),
    };
  };
  const onPostgres = (): BenchFigure => {
    const sqlite = sampleStats(latencies.webhook);
    const stats = sampleStats(shared.latencies.webhook);
    return {
      name: "webhook to first order, both services on PostgreSQL",
      unit: "ms",
      median: round(stats.median),
      p99: round(stats.p99),
      samples: stats.count,
      baseline: {
        name: "the same on SQLite",
        median: round(sqlite.median),
        p99: round(sqlite.p99),
      },
      ratio: round(stats.median / sqlite.median, 2),
      ratioMeaning: "median / SQLite's median",
      target: `p99 under ${targetP99Ms} ms`,
      met: stats.p99 < targetP99Ms,
      detail: { direct_rebalance_median_ms: round(sampleStats(shared.latencies.direct).median) },
    };
  };
  return {
    id: "event-to-order",
    title: "Event to first order at the simulated broker",
    figures: [
      figure("webhook", "webhook POST /events to first order"),
      figure("ably", "Ably emulator publish to first order"),
      onPostgres(),
    ],
    notes: [
      `${samples} samples per path after ${warmUp} unrecorded, one at a time; every sample a ` +
        `fresh account; ${channels} channels attached`,
      "on PostgreSQL: the subscriber's inbox and the rebalancer's runs in one database of a " +
        "throwaway local cluster (fsync off), with the account leases of replicas",
      `the first order is placed before any fill, so the simulated fill delay (${fillDelayMs} ms ` +
        "here) is never in the figure; subscriber, rebalancer and emulator share the process",
    ],
  };
}
