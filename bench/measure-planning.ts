// Planning: plan time per account size from the rebalancer's own planning benchmark, each size
// against the 10x smaller one (growth per 10x), and 10,000 holdings against a fixed piece of CPU
// work timed in the same run (sorting 10,000 symbols), which shows how loaded the machine was.
// The full set repeats the planning benchmark and takes, per size, the median over repetitions:
// a burst of load during one size's runs would otherwise make a growth figure of it.
import { performance } from "node:perf_hooks";
import { benchPlanning, type PlanningBenchResult } from "../rebalancer/bench/planning.js";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { round, sampleStats } from "./sample-stats.js";

/** Growth per 10x holdings still called linear: 10 is exactly linear, n log n gives about 12. */
const linearGrowthLimit = 12.5;

export async function measurePlanning(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const repetitions = quick ? 1 : 3;
  const referenceRuns = quick ? 20 : 30;
  // The reference between repetitions, so a load change during planning shows in its p99.
  const reference = timeReference(referenceRuns);
  const runs: PlanningBenchResult[][] = [];
  for (let i = 0; i < repetitions; i++) {
    runs.push(await benchPlanning({ quick }));
    reference.push(...timeReference(referenceRuns));
  }
  const sizes = medianOverRepetitions(runs);

  const figures: BenchFigure[] = [];
  for (let i = 1; i < sizes.length; i++) {
    figures.push(growthFigure(sizes[i - 1]!, sizes[i]!));
  }
  const largest = sizes.at(-1)!;
  const ref = sampleStats(reference);
  figures.push({
    name: `plan ${largest.holdings.toLocaleString("en-US")} holdings vs reference work`,
    unit: "ms",
    median: largest.median_ms,
    p99: largest.p99_ms,
    samples: largest.runs,
    baseline: {
      name: "sort 10,000 symbols",
      median: round(ref.median),
      p99: round(ref.p99),
    },
    ratio: round(largest.median_ms / ref.median, 2),
    ratioMeaning: "plan time / reference time (machine-independent size of the work)",
    target: "under 50 ms",
    met: largest.median_ms < 50,
    detail: { mean_ms: largest.mean_ms, orders: largest.orders },
  });
  return {
    id: "planning",
    title: "Planning: plan time by account size",
    figures,
    notes: [
      `${quick ? "quick set: a tenth of the runs per size, once" : "100 to 1,000 runs per size, 3 times; per size the median of the 3 medians (p99s, means)"}, ` +
        "after a JIT warm-up; the pure planner, no I/O",
    ],
  };
}

/** Per size, the median over repetitions of the median, p99 and mean; growth recomputed. */
function medianOverRepetitions(repetitions: PlanningBenchResult[][]): PlanningBenchResult[] {
  const middle = (values: number[]) => sampleStats(values).median;
  return repetitions[0]!.map((first, i) => {
    const same = repetitions.map((r) => r[i]!);
    return {
      ...first,
      runs: same.reduce((n, r) => n + r.runs, 0),
      median_ms: middle(same.map((r) => r.median_ms)),
      p99_ms: middle(same.map((r) => r.p99_ms)),
      mean_ms: middle(same.map((r) => r.mean_ms)),
    };
  });
}

function growthFigure(previous: PlanningBenchResult, size: PlanningBenchResult): BenchFigure {
  const meanGrowth = size.mean_ms / previous.mean_ms;
  return {
    name: `plan ${size.holdings.toLocaleString("en-US")} holdings`,
    unit: "ms",
    median: size.median_ms,
    p99: size.p99_ms,
    samples: size.runs,
    baseline: {
      name: `plan ${previous.holdings.toLocaleString("en-US")} holdings`,
      median: previous.median_ms,
      p99: previous.p99_ms,
    },
    ratio: round(size.median_ms / previous.median_ms, 2),
    ratioMeaning: "growth per 10x holdings (median); 10 is linear",
    target: `close to 10x (mean growth at most ${linearGrowthLimit})`,
    met: meanGrowth <= linearGrowthLimit,
    detail: { mean_ms: size.mean_ms, mean_growth_per_10x: round(meanGrowth, 2) },
  };
}

/** Times sorting 10,000 shuffled symbols `runs` times (after one warm-up run each). */
function timeReference(runs: number): number[] {
  const symbols = Array.from({ length: 10_000 }, (_, i) => `S${String(i).padStart(5, "0")}`);
  let state = 7;
  for (let i = symbols.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [symbols[i], symbols[j]] = [symbols[j]!, symbols[i]!];
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  [...symbols].sort(byName);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const copy = [...symbols];
    const start = performance.now();
    copy.sort(byName);
    times.push(performance.now() - start);
  }
  return times;
}
