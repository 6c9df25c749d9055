import { performance } from "node:perf_hooks";

/** What one stretch of closed-loop load did. */
export interface LoadResult {
  /** Calls that succeeded. */
  completed: number;
  /** Calls that threw; a benchmark with any is not a measurement. */
  failed: number;
  /** Wall time from the first call to the last answer, ms. */
  elapsedMs: number;
  /** Per-call latency of the successful calls, ms. */
  latencies: number[];
  /** The first error, for the report. */
  firstError?: unknown;
}

/**
 * Keeps `concurrency` calls in flight for `durationMs` (each worker calls again as soon as its
 * call returns) and reports throughput and latency.
 */
export async function driveLoad(
  call: () => Promise<unknown>,
  options: { concurrency: number; durationMs: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let failed = 0;
  let firstError: unknown;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        await call();
        latencies.push(performance.now() - sent);
      } catch (err) {
        failed++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    completed: latencies.length,
    failed,
    elapsedMs: performance.now() - start,
    latencies,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
