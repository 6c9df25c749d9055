import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger } from "pino";
import { createSecretRedactor } from "./secret-redactor.js";

export type { Logger };

/** Options of createLogger. */
export interface LoggerOptions {
  /** Service name, on every line. */
  name: string;
  /** pino level (LOG_LEVEL); default "info". */
  level?: string;
  /** Human-readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
  /**
   * Configured secrets (API keys): removed from every line in every encoding, whatever field or
   * message carries them (an error text from a provider included); default none.
   */
  secrets?: readonly (string | undefined)[];
  /** Where lines go; default stdout (or pino-pretty when pretty). */
  destination?: DestinationStream;
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
  const pretty =
    options.destination === undefined && (options.pretty ?? process.stdout.isTTY === true);
  const secrets = createSecretRedactor(options.secrets ?? []);
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level ?? "info",
    redact: { paths: redactPaths, censor: "[redacted]" },
    mixin() {
      const span = trace.getSpan(context.active())?.spanContext();
      return span && isSpanContextValid(span)
        ? { trace_id: span.traceId, span_id: span.spanId }
        : {};
    },
    // The one place every line passes, so no serializer or call site can let a secret through.
    ...(secrets.empty ? {} : { hooks: { streamWrite: (line: string) => secrets.redact(line) } }),
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
