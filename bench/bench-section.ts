// What every benchmark returns: figures, each next to a baseline measured in the same run.

/** The benchmarks, in the order they run and print. */
export type SectionId =
  | "planning"
  | "rpc-overhead"
  | "event-to-order"
  | "run-recording"
  | "preflight"
  | "fan-out"
  | "fan-out-replicas"
  | "footprint"
  | "notify";

/** One measured figure and what it is compared with. */
export interface BenchFigure {
  /** What was measured, e.g. "GetPositions over gRPC, 16 in flight". */
  name: string;
  /** Unit of median, p99 and baseline: "ms", "s", "req/s" or "MiB". */
  unit: string;
  /** Median over the samples (or the single value of a one-shot figure). */
  median: number;
  /** 99th percentile, where there are repeated samples. */
  p99?: number;
  /** Samples behind median and p99. */
  samples: number;
  /** The same kind of figure for the reference, measured in the same run. */
  baseline: { name: string; median: number; p99?: number };
  /** How the figure compares with its baseline (the meaning is in `ratioMeaning`). */
  ratio: number;
  /** e.g. "throughput / bare handler's"; says which way is better. */
  ratioMeaning: string;
  /** The target, in words; absent when there is none. */
  target?: string;
  /** Whether the target was met; reported, never asserted (the machines are noisy). */
  met?: boolean;
  /** Further numbers worth keeping (counts, means, secondary ratios). */
  detail?: Record<string, number | string>;
}

/** One benchmark's result. */
export interface BenchSection {
  id: SectionId;
  title: string;
  figures: BenchFigure[];
  /** Conditions a reader needs, e.g. "10 accounts (quick set)". */
  notes: string[];
}

/** Options every benchmark takes. */
export interface BenchOptions {
  /** The reduced set: fewer samples and accounts, for CI (default false). */
  quick?: boolean;
}
