import { SpanStatusCode, type Span, type SpanOptions, type Tracer } from "@opentelemetry/api";

/**
 * Runs `work` in a new active span, so the spans it starts become children; a thrown error is
 * recorded on the span with an error status, and the span always ends.
 */
export async function withActiveSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T> | T,
): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
