import { withActiveSpan } from "@mesh/platform/active-span";
import { trace, type Attributes } from "@opentelemetry/api";

/** The tracer of runs: phases, allocation fetches and orders. */
export const tracer = trace.getTracer("rebalancer");

/** Runs `work` in an active span of a run that records a thrown error. */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T> | T,
): Promise<T> {
  return withActiveSpan(tracer, name, { attributes }, () => work());
}
