import type { Logger } from "@mesh/platform/logger";
import pg from "pg";

/** Options of listenPostgres. */
export interface PostgresListenerOptions {
  /** postgres://… of the database; required. */
  url: string;
  /** The NOTIFY channel listened to; required. */
  channel: string;
  /**
   * Called on each notification, and after each connect: notifications sent while the
   * connection was down are lost, so whoever listens looks again; required.
   */
  onNotify(): void;
  /** First wait before reconnecting, ms (doubling); default 100. */
  retryInitialDelayMs?: number;
  /** Longest wait between reconnects, ms; default 5000. */
  retryMaxDelayMs?: number;
  /** Told when the connection is lost; default none. */
  logger?: Logger;
}

/** A LISTEN connection that keeps itself connected. */
export interface PostgresListener {
  /** Ends the connection; no more calls. */
  close(): Promise<void>;
}

/**
 * Holds one connection of its own (a pooled one cannot stay in LISTEN) and reconnects with
 * backoff when it drops. Losing it costs latency only: whoever listens also polls.
 */
export function listenPostgres(options: PostgresListenerOptions): PostgresListener {
  const initialDelay = options.retryInitialDelayMs ?? 100;
  const maxDelay = options.retryMaxDelayMs ?? 5000;
  let delay = initialDelay;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const connect = async () => {
    const current = new pg.Client({
      connectionString: options.url,
      application_name: "subscriber listener",
      connectionTimeoutMillis: 5000,
      keepAlive: true,
    });
    client = current;
    let lost = false;
    const reconnect = (err?: Error) => {
      if (lost || closed) return;
      lost = true;
      options.logger?.warn({ err, retryInMs: delay }, "inbox notifications lost; reconnecting");
      current.end().catch(() => undefined);
      timer = setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, maxDelay);
    };
    current.on("error", reconnect);
    current.on("end", () => reconnect(new Error("connection ended")));
    current.on("notification", (message) => {
      if (message.channel === options.channel) options.onNotify();
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${current.escapeIdentifier(options.channel)}`);
      if (closed) return;
      delay = initialDelay;
      options.onNotify();
    } catch (err) {
      reconnect(err as Error);
    }
  };
  void connect();

  return {
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
