import { pino, type Logger } from "pino";

export type { Logger };

/** Options of createLogger. */
export interface LoggerOptions {
  /** Service name, on every line. */
  name: string;
  /** pino level; default "info". */
  level?: string;
  /** Human-readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
}

/** JSON-lines logger; secrets under common keys are redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: options.name,
    level: options.level ?? "info",
    redact: {
      paths: [
        "apiKey",
        "key",
        "authorization",
        "*.apiKey",
        "*.authorization",
        "headers.authorization",
      ],
      censor: "[redacted]",
    },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
