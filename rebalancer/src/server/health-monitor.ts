import { create, equals } from "@bufbuild/protobuf";
import { GetHealthResponseSchema, HealthStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { GetHealthResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { healthReport } from "./health-report.js";
import type { ComponentProbe } from "./health-report.js";
import { sleep } from "@mesh/platform/sleep";

/** Options of createHealthMonitor. */
export interface HealthMonitorOptions {
  /** How often probes run while someone watches; default 1000 ms. */
  pollMs?: number;
  /** Time each probe has to answer; default 2000 ms. */
  probeTimeoutMs?: number;
}

/** The service's health: probed on demand, watched by polling, switched off at shutdown. */
export interface HealthMonitor {
  /** Probes every component now. */
  report(): Promise<GetHealthResponse>;
  /**
   * Yields the report now, then again whenever it changes (probes polled while watched), until
   * the signal aborts or the monitor shuts down; after shutdown the last report is NOT_SERVING.
   */
  watch(signal: AbortSignal): AsyncIterable<GetHealthResponse>;
  /** Reports NOT_SERVING from now on (so load balancers stop sending) and ends every watch. */
  shutdown(): void;
  /** Aborted by shutdown(). */
  readonly stopped: AbortSignal;
}

/** Watches the health of the given components. */
export function createHealthMonitor(
  components: readonly ComponentProbe[],
  options: HealthMonitorOptions = {},
): HealthMonitor {
  const pollMs = options.pollMs ?? 1000;
  const shutdownController = new AbortController();

  async function report(): Promise<GetHealthResponse> {
    const current = await healthReport(components, { probeTimeoutMs: options.probeTimeoutMs });
    if (!shutdownController.signal.aborted) {
      return current;
    }
    return create(GetHealthResponseSchema, {
      status: HealthStatus.NOT_SERVING,
      components: [
        ...current.components,
        { name: "server", status: HealthStatus.NOT_SERVING, detail: "shutting down" },
      ],
    });
  }

  async function* watch(signal: AbortSignal): AsyncGenerator<GetHealthResponse> {
    const stop = AbortSignal.any([signal, shutdownController.signal]);
    let last = await report();
    yield last;
    while (!stop.aborted) {
      await sleep(pollMs, stop);
      if (signal.aborted) {
        return;
      }
      const next = await report();
      if (!equals(GetHealthResponseSchema, last, next)) {
        last = next;
        yield next;
      }
    }
  }

  return {
    report,
    watch,
    shutdown: () => shutdownController.abort(),
    stopped: shutdownController.signal,
  };
}
