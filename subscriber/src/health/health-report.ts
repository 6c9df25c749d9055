/**
 * The subscriber's overall health. `ok`: everything works. `degraded`: events are still taken
 * in and kept, but something needs attention (deliveries waiting, the rebalancer refusing the
 * key, a realtime gap); answered 200, since restarting or removing the instance would not help.
 * `failing`: events cannot be taken in (the inbox cannot write, the realtime connection is
 * down); answered 503.
 */
export type HealthStatus = "ok" | "degraded" | "failing";

/** One component: working, not working, or not configured. */
export type ComponentState = "up" | "down" | "disabled";

/** What GET /health answers, and the `health` of /status. */
export interface HealthReport {
  status: HealthStatus;
  /** e.g. `{inbox: "up", realtime: "down", rebalancer: "up", ...}`. */
  components: Record<string, ComponentState>;
  /** One reason per problem, naming what to do where it can; for callers allowed details only. */
  problems: string[];
  /** What works but needs attention, e.g. a failed certificate reload; details only. */
  warnings?: string[];
}

/** The report as an unauthenticated caller sees it: up or down per component, no reasons. */
export function publicHealth(report: HealthReport): Pick<HealthReport, "status" | "components"> {
  return { status: report.status, components: report.components };
}
