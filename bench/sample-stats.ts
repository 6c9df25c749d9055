/** Median, 99th percentile and mean of a list of samples. */
export interface SampleStats {
  median: number;
  p99: number;
  mean: number;
  count: number;
}

/** Nearest-rank percentile (p in 0-100) of unsorted samples; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function sampleStats(values: readonly number[]): SampleStats {
  return {
    median: percentile(values, 50),
    p99: percentile(values, 99),
    mean: values.reduce((sum, v) => sum + v, 0) / values.length,
    count: values.length,
  };
}

/** Rounds for the report: 3 significant decimals at most, no float noise. */
export function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}
