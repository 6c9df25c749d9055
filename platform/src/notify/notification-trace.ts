import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Context,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/** The W3C trace context of the span an outcome was reached in, kept with its outbox rows. */
export interface NotificationTrace {
  /** "" when tracing was off. */
  traceparent: string;
  tracestate: string;
}

// Always W3C, whatever OTEL_PROPAGATORS says: stored rows must stay readable after a change.
const w3c = new W3CTraceContextPropagator();

/** The trace context active in `ctx`, to be stored with the notification. */
export function notificationTrace(ctx: Context): NotificationTrace {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  return { traceparent: carrier.traceparent ?? "", tracestate: carrier.tracestate ?? "" };
}

/**
 * The context a delivery attempt's span starts in: a child of the span the outcome was reached in
 * (the run's), even after a restart; a trace of its own when none was stored.
 */
export function notificationParent(stored: NotificationTrace): Context {
  return w3c.extract(ROOT_CONTEXT, stored, defaultTextMapGetter);
}
