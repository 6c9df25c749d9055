import type { HealthSource } from "@mesh/platform/server/health-service";
import type { HealthReport } from "./health-report.js";
import { sleep } from "@mesh/platform/sleep";

/** Options of createHealthSource. */
export interface HealthSourceOptions {
  /** The subscriber's report (GET /health's); required. */
  report(): Promise<HealthReport>;
  /** How often the report is made again while someone watches, ms; default 1000. */
  pollMs?: number;
}

/** The report as grpc.health.v1 watches it, and its end at shutdown. */
export interface SubscriberHealthSource extends HealthSource<HealthReport> {
  /** From now on the report is failing ("shutting down") and every watch ends. */
  shutdown(): void;
}

/**
 * The subscriber's health report for grpc.health.v1: the same report as GET /health, polled while
 * watched (a change of status is yielded), and failing once the service is stopping so that load
 * balancers stop sending before it is gone.
 */
export function createHealthSource(options: HealthSourceOptions): SubscriberHealthSource {
  const pollMs = options.pollMs ?? 1000;
  const stopping = new AbortController();
  const report = async (): Promise<HealthReport> => {
    const current = await options.report();
    return stopping.signal.aborted
      ? { ...current, status: "failing", problems: [...current.problems, "shutting down"] }
      : current;
  };
  return {
    report,
    async *watch(signal) {
      const stop = AbortSignal.any([signal, stopping.signal]);
      let last = await report();
      yield last;
      while (!stop.aborted) {
        await sleep(pollMs, stop);
        if (signal.aborted) return;
        const next = await report();
        if (next.status !== last.status) yield next;
        last = next;
      }
    },
    stopped: stopping.signal,
    shutdown: () => stopping.abort(),
  };
}
