import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger } from "pino";
import { PinoPretty } from "pino-pretty";
import { createSecretRedactor, type SecretSource } from "./secret-redactor.js";

export type { Logger };

/** Options of createLogger. */
export interface LoggerOptions {
  /** Service name, on every line. */
  name: string;
  /** pino level (LOG_LEVEL); default "info". */
  level?: string;
  /**
   * Human-readable lines with the local time (pino-pretty) instead of JSON lines; default: when
   * stdout is a terminal. Services set it from LOG_FORMAT (pretty or json).
   */
  pretty?: boolean;
  /**
   * Configured secrets (API keys): removed from every line in every encoding, whatever field or
   * message carries them (an error text from a provider included); a function is asked again
   * as keys rotate; default none.
   */
  secrets?: SecretSource;
  /** Where lines go; default stdout. When pretty, the readable lines go here too. */
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

/** How a readable line looks: local date and time with the zone, level, service, message, fields. */
const prettyOptions = {
  translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l o",
  ignore: "pid,hostname",
  // One line per event, its fields after the message: greppable, and a screen shows more.
  singleLine: true,
  // Written at once on this thread: the last lines before process.exit are never lost.
  sync: true,
} as const;

/**
 * JSON-lines logger, or readable lines for a person at a terminal. Every line logged inside a span carries `trace_id` and `span_id`, so a log
 * line leads to its trace in Jaeger; secrets under common keys are redacted.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY);
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
    ...(options.secrets === undefined
      ? {}
      : { hooks: { streamWrite: (line: string) => secrets.redact(line) } }),
  };
  if (pretty) {
    const colorize = options.destination === undefined && process.stdout.isTTY === true;
    return pino(
      settings,
      PinoPretty({
        ...prettyOptions,
        colorize,
        ...(options.destination
          ? { destination: options.destination as NodeJS.WritableStream }
          : {}),
      }),
    );
  }
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
