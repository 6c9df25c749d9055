// Run recording: one live run of 10, 100 and 1,000 orders (half sells, half buys) on the
// simulated broker (fills at once), through the run coordinator, its recorder and the SQLite run
// store as the rebalancer wires them, its stream followed in process. The figure is the time from
// the first order the run records to its outcome, divided by the events it recorded meanwhile
// (its journal's rows). Each size is compared with the 10x smaller one: the recorder appends each
// event as one row and never rewrites the run's record, so the time per recorded event should
// stay flat as runs grow.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadAccounts } from "@mesh/platform/accounts";
import { createLogger } from "@mesh/platform/logger";
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import { createAccountGate } from "@mesh/rebalancer/accounts/account-gate";
import { createFileAllocations } from "@mesh/rebalancer/allocations/file-allocations";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { createRunCoordinator } from "@mesh/rebalancer/runs/run-coordinator";
import { createSqliteRunStore } from "@mesh/rebalancer/runs/sqlite-run-store";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { round, sampleStats } from "./sample-stats.js";

/** Growth per 10x orders of the time per recorded event still called flat. */
const flatGrowthLimit = 1.2;

/** Recorded events a sample times at least (a 10-order run records about 40). */
const minEventsPerSample = 400;

interface Timed {
  /** From the first order recorded to the outcome recorded, ms. */
  tradingMs: number;
  /** Journal rows recorded in that time (after the first order, the outcome included). */
  recorded: number;
  /** The whole run, from the request to the final event streamed, ms (a sample: the mean). */
  runMs: number;
  /** Journal rows of the whole run, the acceptance included (a sample: the mean). */
  journal: number;
}

interface SizeResult {
  orders: number;
  runs: Timed[];
}

export async function measureRunRecording(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const repetitions = quick ? 1 : 5;
  const sizes = [10, 100, 1_000];
  // One warm-up run of the smallest size, so the first figure does not carry the JIT.
  await timeRun(10);
  const results: SizeResult[] = sizes.map((orders) => ({ orders, runs: [] }));
  // Sizes interleaved, so that a burst of load on the machine touches every size alike; a sample
  // of a small size is several runs, so that each sample times a few hundred events at least.
  for (let i = 0; i < repetitions; i++) {
    for (const result of results) {
      const runs: Timed[] = [];
      do runs.push(await timeRun(result.orders));
      while (runs.reduce((n, t) => n + t.recorded, 0) < minEventsPerSample);
      result.runs.push(sum(runs));
    }
  }
  const perEvent = (r: SizeResult) =>
    sampleStats(r.runs.map((t) => t.tradingMs / t.recorded)).median;
  const figures: BenchFigure[] = [];
  for (let i = 1; i < results.length; i++) {
    const previous = results[i - 1]!;
    const size = results[i]!;
    const now = perEvent(size);
    const before = perEvent(previous);
    const growth = now / before;
    const last = size.runs.at(-1)!;
    figures.push({
      name: `run of ${size.orders.toLocaleString("en-US")} orders, per recorded event`,
      unit: "ms",
      median: round(now, 4),
      samples: size.runs.length,
      baseline: {
        name: `run of ${previous.orders.toLocaleString("en-US")} orders, per recorded event`,
        median: round(before, 4),
      },
      ratio: round(growth, 2),
      ratioMeaning: "time per recorded event / the 10x smaller run's; 1 is flat",
      target: `at most ${flatGrowthLimit}x per 10x orders`,
      met: growth <= flatGrowthLimit,
      detail: {
        per_event_range_ms: range(size.runs.map((t) => t.tradingMs / t.recorded)),
        recorded_per_sample: last.recorded,
        journal_rows: last.journal,
        whole_run_ms: round(sampleStats(size.runs.map((t) => t.runMs)).median, 1),
        whole_run_per_row_ms: round(
          sampleStats(size.runs.map((t) => t.runMs / t.journal)).median,
          4,
        ),
      },
    });
  }
  return {
    id: "run-recording",
    title: "Run recording: time per recorded event by run size",
    figures,
    notes: [
      `one live run per size (${repetitions === 1 ? "once" : `${repetitions} times, median`}), ` +
        "half sells and half buys, simulated broker filling at once, run coordinator and SQLite " +
        "run store, stream followed in process; timed from the first order recorded to the outcome",
    ],
  };
}

/** Several runs as one sample. */
function sum(runs: Timed[]): Timed {
  const total = (pick: (t: Timed) => number) => runs.reduce((n, t) => n + pick(t), 0);
  return {
    tradingMs: total((t) => t.tradingMs),
    recorded: total((t) => t.recorded),
    runMs: total((t) => t.runMs) / runs.length,
    journal: total((t) => t.journal) / runs.length,
  };
}

/** "lowest-highest" of the samples, for the spread behind a median. */
function range(values: number[]): string {
  return `${round(Math.min(...values), 3)}-${round(Math.max(...values), 3)}`;
}

/** One live run selling `orders / 2` symbols and buying as many, on a fresh store. */
async function timeRun(orders: number): Promise<Timed> {
  const scratch = createScratchDir("run-recording");
  const symbols = Array.from({ length: orders }, (_, i) => `S${String(i).padStart(4, "0")}`);
  const held = symbols.slice(0, orders / 2);
  const wanted = symbols.slice(orders / 2);
  mkdirSync(scratch.path("allocations"), { recursive: true });
  writeFileSync(
    scratch.path("allocations", "many.yaml"),
    JSON.stringify({
      name: "many",
      allocations: wanted.map((symbol) => ({ symbol, allocation: 0.9 / wanted.length })),
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
      accounts: [
        {
          accountId: "DU900000",
          cash: 1_000,
          holdings: held.map((symbol) => ({ symbol, quantity: 100, averageCost: 10 })),
        },
      ],
    },
  });
  const store = createSqliteRunStore(join(scratch.path("data"), "runs.sqlite"));
  // When each event was appended, and what it was: the run's own clock, not the stream's.
  const appended: { at: number; kind: string }[] = [];
  const append = store.appendEvent.bind(store);
  store.appendEvent = async (event) => {
    await append(event);
    appended.push({ at: performance.now(), kind: event.event.kind });
  };
  const coordinator = createRunCoordinator({
    store,
    gate: createAccountGate({
      accounts: loadAccounts(scratch.path("accounts.yaml")).accounts,
      tradingMode: "paper",
    }),
    logger: createLogger({ name: "bench", level: "silent" }),
    execution: { broker, allocations: createFileAllocations(), now: () => new Date() },
  });
  try {
    const start = performance.now();
    let last: { case?: string; value?: unknown } = {};
    const stream = await coordinator.start({
      accountId: "DU900000",
      mode: ExecutionMode.LIVE,
      idempotencyKey: `run-recording-${orders}`,
      waitIfBusy: false,
    });
    for await (const response of stream) last = response.event;
    const end = performance.now();
    const placed = last.case === "completed" ? (last.value as { orders: unknown[] }).orders : [];
    if (placed.length !== orders) {
      throw new Error(`the ${orders}-order run ended ${last.case} with ${placed.length} orders`);
    }
    const first = appended.findIndex((e) => e.kind === "orderPlaced");
    return {
      tradingMs: appended.at(-1)!.at - appended[first]!.at,
      recorded: appended.length - first - 1,
      runMs: end - start,
      journal: appended.length + 1,
    };
  } finally {
    await store.close();
    await broker.close();
    scratch.remove();
  }
}
