import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus } from "@mesh/proto/health/v1/health";
import type { Health } from "@mesh/proto/health/v1/health";

const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = HealthCheckResponse_ServingStatus;

/** A service's own health report, whatever its form: what grpc.health.v1 is answered from. */
export interface HealthSource<Report> {
  /** The report now. */
  report(): Promise<Report>;
  /** The report now, then each change, until the signal aborts or `stopped` does. */
  watch(signal: AbortSignal): AsyncIterable<Report>;
  /** Aborted at shutdown: open watches of unknown services end. */
  readonly stopped: AbortSignal;
}

/**
 * grpc.health.v1.Health over the source's report, SERVING when `serving(report)` says so. ""
 * (the whole server) and every name in `serviceNames` share the overall status: each served
 * service needs every component.
 */
export function createHealthService<Report>(
  monitor: HealthSource<Report>,
  serviceNames: readonly string[],
  serving: (report: Report) => boolean,
): ServiceImpl<typeof Health> {
  const servingStatus = (report: Report) => (serving(report) ? SERVING : NOT_SERVING);
  const known = new Set(["", ...serviceNames]);
  return {
    async check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: servingStatus(await monitor.report()) };
    },

    async *watch(request, context) {
      if (!known.has(request.service)) {
        // The protocol asks to keep the call open for a service that may appear later.
        yield { status: SERVICE_UNKNOWN };
        const end = AbortSignal.any([context.signal, monitor.stopped]);
        if (!end.aborted) {
          await new Promise((resolve) => end.addEventListener("abort", resolve, { once: true }));
        }
        return;
      }
      let last: HealthCheckResponse_ServingStatus | undefined;
      for await (const report of monitor.watch(context.signal)) {
        const status = servingStatus(report);
        if (status !== last) {
          last = status;
          yield { status };
        }
      }
    },

    async list() {
      const status = servingStatus(await monitor.report());
      return {
        statuses: Object.fromEntries([...known].map((name) => [name, { status }])),
      };
    },
  };
}
