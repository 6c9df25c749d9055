// Benchmark of the pure planner: plan time for accounts of 10 to 10,000 holdings.
//
//   npx tsx rebalancer/bench/planning.ts [--quick]
//
// Prints the median and p99 plan time per size and the growth factor per 10x holdings (about 10
// means linear), and the mean: at 10,000 holdings every plan allocates enough to meet a young-
// generation collection, which smaller sizes mostly push into their p99, so the mean's growth is
// the fairer linearity figure. Writes nothing. `benchPlanning` returns the same figures.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { plan } from "../src/planning/plan.js";
import type { PlanInput } from "../src/planning/plan-input.js";

/** One size's figures. */
export interface PlanningBenchResult {
  name: string;
  holdings: number;
  runs: number;
  median_ms: number;
  p99_ms: number;
  /** Total time over runs: includes the garbage collection that the median of small sizes skips. */
  mean_ms: number;
  /** Median time divided by the previous (10x smaller) size's; absent for the first size. */
  growth_per_10x?: number;
  /** The same for the mean: the amortised cost, the fairer test of linear growth. */
  mean_growth_per_10x?: number;
  /** Orders in the plan, to show the work was real. */
  orders: number;
}

export interface PlanningBenchOptions {
  /** Fewer runs per size, for a smoke check (default false). */
  quick?: boolean;
}

const SIZES = [10, 100, 1_000, 10_000];

/** Times `plan` on generated accounts of 10, 100, 1,000 and 10,000 holdings. */
export async function benchPlanning(
  options: PlanningBenchOptions = {},
): Promise<PlanningBenchResult[]> {
  const results: PlanningBenchResult[] = [];
  for (const holdings of SIZES) {
    const input = account(holdings);
    const runs = runsFor(holdings, options.quick ?? false);
    for (let i = 0; i < Math.max(3, runs / 10); i++) plan(input); // warm the JIT
    const times: number[] = [];
    let orders = 0;
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const planned = plan(input);
      times.push(performance.now() - start);
      orders = planned.sells.length + planned.buys.length;
      // Yield now and then so a runner's timers and I/O are not starved.
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    const previous = results.at(-1);
    const median = percentile(times, 50);
    const mean = times.reduce((sum, time) => sum + time, 0) / times.length;
    results.push({
      name: `plan ${holdings} holdings`,
      holdings,
      runs,
      median_ms: round(median),
      p99_ms: round(percentile(times, 99)),
      mean_ms: round(mean),
      ...(previous
        ? {
            growth_per_10x: round(median / previous.median_ms, 2),
            mean_growth_per_10x: round(mean / previous.mean_ms, 2),
          }
        : {}),
      orders,
    });
  }
  return results;
}

function runsFor(holdings: number, quick: boolean): number {
  const full = holdings >= 10_000 ? 100 : holdings >= 1_000 ? 300 : 1_000;
  return quick ? Math.max(10, full / 10) : full;
}

/**
 * A deterministic account: `size` holdings, three quarters of them targeted (the rest are
 * liquidated), plus a quarter as many new symbols to buy; prices and quantities vary so that
 * there are sells, buys, symbols inside the band and a fractional holding or two.
 */
function account(size: number): PlanInput {
  const random = seeded(size);
  const symbol = (i: number) => `S${String(i).padStart(5, "0")}`;
  const prices = new Map<string, number>();
  const holdings: Array<{ symbol: string; quantity: number }> = [];
  let invested = 0;
  for (let i = 0; i < size; i++) {
    const price = Math.round((5 + random() * 495) * 100) / 100;
    const quantity = Math.floor(1 + random() * 200) + (i % 97 === 0 ? 0.5 : 0);
    prices.set(symbol(i), price);
    holdings.push({ symbol: symbol(i), quantity });
    invested += price * quantity;
  }
  const targeted = Math.floor(size * 0.75);
  const added = Math.max(1, Math.floor(size / 4));
  for (let i = size; i < size + added; i++) {
    prices.set(symbol(i), Math.round((5 + random() * 495) * 100) / 100);
  }
  const symbols = [
    ...Array.from({ length: targeted }, (_, i) => symbol(i)),
    ...Array.from({ length: added }, (_, i) => symbol(size + i)),
  ];
  const targets = symbols.map((s) => ({ symbol: s, weight: 0.98 / symbols.length }));
  const cash = invested * 0.1;
  return {
    targets,
    holdings,
    prices,
    netLiquidation: invested + cash,
    cash,
    settings: {
      cashReservePercent: 1,
      driftBandPercent: 0.001,
      minOrderValue: 10,
      maxOrderValue: 0,
      maxTurnoverPercent: 0,
    },
    replacements: [{ source: symbol(1), target: symbol(size), scale: 1.5 }],
  };
}

/** Mulberry32: the same account on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  const results = await benchPlanning({ quick });
  console.log(`planning benchmark${quick ? " (quick)" : ""}`);
  console.log(
    "holdings   runs   median ms    p99 ms   growth/10x    mean ms   mean growth/10x   orders",
  );
  for (const r of results) {
    console.log(
      `${String(r.holdings).padStart(8)} ${String(r.runs).padStart(6)} ` +
        `${r.median_ms.toFixed(3).padStart(11)} ${r.p99_ms.toFixed(3).padStart(9)} ` +
        `${(r.growth_per_10x?.toFixed(2) ?? "-").padStart(12)} ` +
        `${r.mean_ms.toFixed(3).padStart(10)} ` +
        `${(r.mean_growth_per_10x?.toFixed(2) ?? "-").padStart(17)} ` +
        `${String(r.orders).padStart(8)}`,
    );
  }
}
