// Run recording: one live run of 10, 100 and 1,000 orders (half sells, half buys) on the
// simulated broker (fills at once), through the run coordinator, its recorder and the SQLite run
// store as the rebalancer wires them. The run's journal is then recorded again by a fresh
// recorder, a follower streaming it, into one SQLite run store that all sizes share and that
// already holds a large run, as a rebalancer's store does after a while (a fresh file's first
// writes are cheaper, whatever writes them): that time, divided by the events, is the figure
// (what recording one event costs, the broker's own work left out). Each size is compared
// with the 10x smaller one: the recorder appends each event as one row and never rewrites the
// run's record, so the time per recorded event should stay flat as runs grow. The live run's
// time per event, from its first order to its outcome, is in the details: it includes the
// simulated broker's work.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadAccounts } from "@mesh/platform/accounts";
import { createLogger } from "@mesh/platform/logger";
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import { createAccountGate } from "@mesh/rebalancer/accounts/account-gate";
import { createFileAllocations } from "@mesh/rebalancer/allocations/file-allocations";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import type { RecordedEvent } from "@mesh/rebalancer/runs/recorded-event";
import { createRunCoordinator } from "@mesh/rebalancer/runs/run-coordinator";
import { RunRecorder } from "@mesh/rebalancer/runs/run-recorder";
import type { RunStore } from "@mesh/rebalancer/runs/run-store";
import { createSqliteRunStore } from "@mesh/rebalancer/runs/sqlite-run-store";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { createScratchDir, type ScratchDir } from "./private/scratch-dir.js";
import { round, sampleStats } from "./sample-stats.js";

/** Growth per 10x orders of the time per recorded event still called flat. */
const flatGrowthLimit = 1.2;

/** Events a sample times at least (a 10-order run records about 45). */
const minEventsPerSample = 400;

/** One sample: one run, or several small ones pooled. */
interface Sample {
  /** Recording the runs' journals again, ms. */
  recordingMs: number;
  /** Events recorded again (the journals' rows after the acceptance). */
  recorded: number;
  /** The live runs, from their first order recorded to their outcome, ms. */
  tradingMs: number;
  /** Events the live runs recorded in that time. */
  traded: number;
}

interface SizeResult {
  orders: number;
  samples: Sample[];
  /** Rows of one run's journal. */
  journal: number;
}

export async function measureRunRecording(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const repetitions = quick ? 1 : 5;
  const sizes = [10, 100, 1_000];
  const store = createScratchDir("run-recording-store");
  const again = createSqliteRunStore(store.path("runs.sqlite"));
  try {
    // A warm-up run of the largest size: the JIT, and a store that is no longer fresh.
    await timeRun(1_000, again);
    return summarize(await measureSizes(sizes, repetitions, again), repetitions);
  } finally {
    await again.close();
    store.remove();
  }
}

async function measureSizes(
  sizes: number[],
  repetitions: number,
  again: RunStore,
): Promise<SizeResult[]> {
  const results: SizeResult[] = sizes.map((orders) => ({ orders, samples: [], journal: 0 }));
  // Sizes interleaved, so that a burst of load on the machine touches every size alike.
  for (let i = 0; i < repetitions; i++) {
    for (const result of results) {
      const runs: Sample[] = [];
      do {
        const run = await timeRun(result.orders, again);
        result.journal = run.journal;
        runs.push(run);
      } while (runs.reduce((n, r) => n + r.recorded, 0) < minEventsPerSample);
      result.samples.push(pooled(runs));
    }
  }
  return results;
}

function summarize(results: SizeResult[], repetitions: number): BenchSection {
  const recording = (r: SizeResult) => r.samples.map((s) => s.recordingMs / s.recorded);
  const trading = (r: SizeResult) => r.samples.map((s) => s.tradingMs / s.traded);
  const median = (values: number[]) => sampleStats(values).median;
  const figures: BenchFigure[] = [];
  for (let i = 1; i < results.length; i++) {
    const previous = results[i - 1]!;
    const size = results[i]!;
    const now = median(recording(size));
    const before = median(recording(previous));
    const growth = now / before;
    figures.push({
      name: `recording a run of ${size.orders.toLocaleString("en-US")} orders, per event`,
      unit: "ms",
      median: round(now, 4),
      samples: size.samples.length,
      baseline: {
        name: `a run of ${previous.orders.toLocaleString("en-US")} orders, per event`,
        median: round(before, 4),
      },
      ratio: round(growth, 2),
      ratioMeaning: "time per recorded event / the 10x smaller run's; 1 is flat",
      target: `at most ${flatGrowthLimit}x per 10x orders`,
      met: growth <= flatGrowthLimit,
      detail: {
        recording_range_ms: range(recording(size)),
        journal_rows: size.journal,
        live_per_event_ms: round(median(trading(size)), 4),
        live_growth: round(median(trading(size)) / median(trading(previous)), 2),
        live_range_ms: range(trading(size)),
      },
    });
  }
  return {
    id: "run-recording",
    title: "Run recording: time per recorded event by run size",
    figures,
    notes: [
      `one live run per size (${repetitions === 1 ? "once" : `${repetitions} times, median`}), ` +
        "half sells and half buys, on the simulated broker filling at once; its journal " +
        "recorded again by a fresh recorder, a follower streaming it, into one SQLite run store " +
        `that already holds a 1,000-order run; small runs pooled to ${minEventsPerSample} events a sample`,
    ],
  };
}

/** Several runs as one sample. */
function pooled(runs: Sample[]): Sample {
  const total = (pick: (s: Sample) => number) => runs.reduce((n, s) => n + pick(s), 0);
  return {
    recordingMs: total((s) => s.recordingMs),
    recorded: total((s) => s.recorded),
    tradingMs: total((s) => s.tradingMs),
    traded: total((s) => s.traded),
  };
}

/** "lowest-highest" of the samples, for the spread behind a median. */
function range(values: number[]): string {
  return `${round(Math.min(...values), 3)}-${round(Math.max(...values), 3)}`;
}

/** One live run selling `orders / 2` symbols and buying as many, then its journal recorded again. */
async function timeRun(orders: number, again: RunStore): Promise<Sample & { journal: number }> {
  const scratch = createScratchDir("run-recording");
  try {
    const { journal, tradingMs, traded } = await liveRun(scratch, orders);
    return { ...(await recordAgain(again, journal)), tradingMs, traded, journal: journal.length };
  } finally {
    scratch.remove();
  }
}

/** The live run: its journal, and its time from the first order recorded to the outcome. */
async function liveRun(
  scratch: ScratchDir,
  orders: number,
): Promise<{ journal: RecordedEvent[]; tradingMs: number; traded: number }> {
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
  const store = createSqliteRunStore(join(scratch.path("live"), "runs.sqlite"));
  // When each event was appended, and what it was.
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
    let runId = "";
    let last: { case?: string; value?: unknown } = {};
    const stream = await coordinator.start({
      accountId: "DU900000",
      mode: ExecutionMode.LIVE,
      idempotencyKey: `run-recording-${orders}`,
      waitIfBusy: false,
    });
    for await (const response of stream) {
      runId = response.runId;
      last = response.event;
    }
    const placed = last.case === "completed" ? (last.value as { orders: unknown[] }).orders : [];
    if (placed.length !== orders) {
      throw new Error(`the ${orders}-order run ended ${last.case} with ${placed.length} orders`);
    }
    const first = appended.findIndex((e) => e.kind === "orderPlaced");
    return {
      journal: await store.events(runId),
      tradingMs: appended.at(-1)!.at - appended[first]!.at,
      traded: appended.length - first - 1,
    };
  } finally {
    await store.close();
    await broker.close();
  }
}

/** Records `journal` again, as a new run of `store`, with a fresh recorder and a follower. */
async function recordAgain(
  store: RunStore,
  journal: RecordedEvent[],
): Promise<{ recordingMs: number; recorded: number }> {
  const [accepted, ...events] = journal;
  if (accepted?.event.kind !== "accepted") throw new Error("a journal starts with its acceptance");
  const runId = `${accepted.event.header.runId}-again-${++recordings}`;
  const recorder = RunRecorder.accept(store, {
    ...accepted.event.header,
    runId,
    idempotencyKey: runId,
  });
  if (!(await recorder.begin()).created) throw new Error(`${runId} was recorded before`);
  const followed = (async () => {
    let told = 0;
    for await (const _ of recorder.follow(false)) told++;
    return told;
  })();
  const start = performance.now();
  for (const { event } of events) {
    if (event.kind !== "accepted" && event.kind !== "suspended") await recorder.record(event);
  }
  await followed;
  return { recordingMs: performance.now() - start, recorded: events.length };
}

let recordings = 0;
