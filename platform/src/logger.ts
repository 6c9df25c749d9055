import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import { pino, type Logger } from "pino";

export type { Logger };

/** Options of createLogger. */
export interface LoggerOptions {
  /** Service name, on every line. */
  name: string;
  /** pino level (LOG_LEVEL); default "info". */
  level?: string;
  /** Human-readable lines instead of JSON; default: when stdout is a terminal (never with a destination). */
  pretty?: boolean;
  /** Where the JSON lines go (a test's sink); default stdout. */
  destination?: { write(line: string): void };
}

/** Where secrets could appear in log objects; their values are replaced. */
const redactPaths = [
  "apiKey",
  "key",
  "authorization",
  "password",
  "*.apiKey",
  "*.key",
  "*.authorization",
  "*.password",
  "headers.authorization",
  "headers.x-api-key",
];

/**
 * JSON-lines logger. Every line logged inside a span carries `trace_id` and `span_id`, so a log
 * line leads to its trace in Jaeger; secrets under common keys are redacted.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = !options.destination && (options.pretty ?? process.stdout.isTTY === true);
  const settings = {
    name: options.name,
    level: options.level ?? "info",
    redact: { paths: redactPaths, censor: "[redacted]" },
    mixin() {
      const span = trace.getSpan(context.active())?.spanContext();
      return span && isSpanContextValid(span)
        ? { trace_id: span.traceId, span_id: span.spanId }
        : {};
    },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
