import { SpanStatusCode, trace, type Attributes } from "@opentelemetry/api";

/** The tracer of runs: phases, allocation fetches and orders. */
export const tracer = trace.getTracer("rebalancer");

/** Runs `work` in an active span that records a thrown error. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T> | T,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
