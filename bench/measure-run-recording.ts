// Run recording: one live run of 10, 100 and 1,000 orders on the simulated broker (fills at
// once), timed from the request to the final event and divided by the events streamed. Each
// size is compared with the 10x smaller one: the recorder appends an order event without
// rewriting the run's record, so the time per event should stay flat as a run grows.
import { writeFileSync, mkdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  RebalancerService,
  type RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { startRebalancer } from "@mesh/rebalancer/app";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { round, sampleStats } from "./sample-stats.js";

/** Growth per 10x orders of the time per event still called flat. */
const flatGrowthLimit = 1.2;

interface SizeResult {
  orders: number;
  events: number;
  /** Per repetition: run time / events, ms. */
  perEvent: number[];
}

export async function measureRunRecording(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const repetitions = quick ? 1 : 3;
  const sizes = [10, 100, 1_000];
  const results: SizeResult[] = [];
  // One warm-up run of the smallest size, so the first figure does not carry the JIT.
  await timeRun(10);
  for (const orders of sizes) {
    const result: SizeResult = { orders, events: 0, perEvent: [] };
    for (let i = 0; i < repetitions; i++) {
      const { ms, events } = await timeRun(orders);
      result.events = events;
      result.perEvent.push(ms / events);
    }
    results.push(result);
  }
  const figures: BenchFigure[] = [];
  for (let i = 1; i < results.length; i++) {
    const previous = results[i - 1]!;
    const size = results[i]!;
    const now = sampleStats(size.perEvent).median;
    const before = sampleStats(previous.perEvent).median;
    const growth = now / before;
    figures.push({
      name: `run of ${size.orders.toLocaleString("en-US")} orders, per event`,
      unit: "ms",
      median: round(now, 4),
      samples: size.perEvent.length,
      baseline: {
        name: `run of ${previous.orders.toLocaleString("en-US")} orders, per event`,
        median: round(before, 4),
      },
      ratio: round(growth, 2),
      ratioMeaning: "time per event / the 10x smaller run's; 1 is flat",
      target: `at most ${flatGrowthLimit}x per 10x orders`,
      met: growth <= flatGrowthLimit,
      detail: { events: size.events, baseline_events: previous.events },
    });
  }
  return {
    id: "run-recording",
    title: "Run recording: time per event by run size",
    figures,
    notes: [
      `one live run per size (${repetitions === 1 ? "once" : `${repetitions} times, median`}), ` +
        "simulated broker filling at once, SQLite run store, streamed over gRPC on loopback",
    ],
  };
}

/** One live run buying `orders` symbols on a fresh rebalancer; its time and event count. */
async function timeRun(orders: number): Promise<{ ms: number; events: number }> {
  const scratch = createScratchDir("run-recording");
  const symbols = Array.from({ length: orders }, (_, i) => `S${String(i).padStart(4, "0")}`);
  mkdirSync(scratch.path("allocations"), { recursive: true });
  writeFileSync(
    scratch.path("allocations", "many.yaml"),
    JSON.stringify({
      name: "many",
      allocations: symbols.map((symbol) => ({ symbol, allocation: 0.9 / orders })),
    }),
  );
  writeFileSync(
    scratch.path("accounts.yaml"),
    JSON.stringify({
      defaults: {
        allocation_url: "file:allocations/{strategy}.yaml",
        min_order_value: 0,
        drift_band_percent: 0,
      },
      accounts: [{ account_id: "DU900000", type: "paper", enabled: true, strategy: "many" }],
    }),
  );
  const broker = createSimBroker({
    fillDelayMs: 0,
    state: {
      currency: "USD",
      prices: Object.fromEntries(symbols.map((s) => [s, 10])),
      accounts: [{ accountId: "DU900000", cash: orders * 1_000, holdings: [] }],
    },
  });
  const rebalancer = await startRebalancer({
    accountsFile: scratch.path("accounts.yaml"),
    dataDir: scratch.path("data"),
    broker,
    host: "127.0.0.1",
    port: 0,
  });
  try {
    const client = createClient(
      RebalancerService,
      createGrpcTransport({ baseUrl: rebalancer.url }),
    );
    let events = 0;
    let last: unknown;
    const start = performance.now();
    for await (const event of client.rebalance({
      accountId: "DU900000",
      mode: ExecutionMode.LIVE,
      idempotencyKey: `run-recording-${orders}`,
    })) {
      events++;
      last = event.event;
    }
    const ms = performance.now() - start;
    const final = last as { case?: string; value?: { status?: RunStatus; message?: string } };
    if (final.case !== "completed" || events < orders) {
      throw new Error(`the ${orders}-order run ended ${final.case}: ${final.value?.message}`);
    }
    return { ms, events };
  } finally {
    await rebalancer.close(1_000);
    scratch.remove();
  }
}
