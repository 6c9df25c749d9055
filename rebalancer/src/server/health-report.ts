import { create } from "@bufbuild/protobuf";
import { GetHealthResponseSchema, HealthStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { ComponentHealth, GetHealthResponse } from "@mesh/proto/rebalancer/v1/rebalancer";

/** What a component probe says about its component. */
export interface ComponentCheck {
  /** True when the component works. */
  ok: boolean;
  /** For humans, e.g. "connected to 127.0.0.1:4002" or "circuit open". */
  detail?: string;
}

/** Checks one component (broker, allocation source, store) for the health report. */
export interface ComponentProbe {
  /** Component name in the report, e.g. "broker". */
  name: string;
  /** Reports the component's state; throwing or not answering in time counts as not serving. */
  check(): ComponentCheck | Promise<ComponentCheck>;
}

/** Options of healthReport. */
export interface HealthReportOptions {
  /** Time each probe has to answer; default 2000 ms. */
  probeTimeoutMs?: number;
}

/**
 * Probes every component (concurrently) and reports the service SERVING only when every
 * component is. The same report answers GetHealth, GET /health and grpc.health.v1.Health.
 */
export async function healthReport(
  components: readonly ComponentProbe[],
  options: HealthReportOptions = {},
): Promise<GetHealthResponse> {
  const timeoutMs = options.probeTimeoutMs ?? 2000;
  const checked = await Promise.all(components.map((probe) => runProbe(probe, timeoutMs)));
  const serving = checked.every((component) => component.status === HealthStatus.SERVING);
  return create(GetHealthResponseSchema, {
    status: serving ? HealthStatus.SERVING : HealthStatus.NOT_SERVING,
    components: checked,
  });
}

async function runProbe(
  probe: ComponentProbe,
  timeoutMs: number,
): Promise<Pick<ComponentHealth, "name" | "status" | "detail">> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ComponentCheck>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `probe did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    const check = await Promise.race([Promise.resolve().then(() => probe.check()), timeout]);
    return {
      name: probe.name,
      status: check.ok ? HealthStatus.SERVING : HealthStatus.NOT_SERVING,
      detail: check.detail ?? "",
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      name: probe.name,
      status: HealthStatus.NOT_SERVING,
      detail: `probe failed: ${message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}
