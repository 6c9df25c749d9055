import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Context,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/** A span's W3C trace context as the inbox keeps it; "" where there is none. */
export interface StoredTraceContext {
  traceparent: string;
  tracestate: string;
}

// Always W3C, whatever OTEL_PROPAGATORS says: stored rows (inbox entries, notifications) must stay readable after a change.
const w3c = new W3CTraceContextPropagator();

/** The trace context of the span active in `ctx`, to be stored with the entries it recorded. */
export function storeTraceContext(ctx: Context): StoredTraceContext {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  return { traceparent: carrier.traceparent ?? "", tracestate: carrier.tracestate ?? "" };
}

/**
 * A context whose parent is the stored span, for a delivery to continue the message's trace.
 * Built on the root context, so an entry stored without one starts its own trace instead of
 * joining whatever happens to be active.
 */
export function restoreTraceContext(stored: StoredTraceContext): Context {
  return w3c.extract(ROOT_CONTEXT, stored, defaultTextMapGetter);
}
