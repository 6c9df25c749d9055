import pg from "pg";
import type { Logger } from "./logger.js";

/** Options of createPostgresPool. */
export interface PostgresPoolOptions {
  /** Connections at most; default 10. */
  max?: number;
  /** Told of errors on idle connections (the server restarted, the network dropped); default none. */
  logger?: Logger;
  /** Shown in pg_stat_activity, e.g. "rebalancer"; default "mesh". */
  applicationName?: string;
}

// bigint columns hold ms since the epoch and ids, all below 2^53: numbers, as SQLite gives them.
const int8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === int8 && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

/** A pool on the database at `url` whose bigint values come back as numbers. */
export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    application_name: options.applicationName ?? "mesh",
    // A server that does not answer fails a query (and /health) rather than hanging it; TCP
    // keepalive finds a peer that vanished without closing the connection.
    connectionTimeoutMillis: 5000,
    keepAlive: true,
  });
  // Without a listener an idle connection's error would end the process; the next query that
  // needs the connection gets a fresh one and reports what still fails.
  pool.on("error", (err) => options.logger?.warn({ err }, "database connection lost"));
  return pool;
}

/** Runs `work` in one transaction on one connection: committed when it resolves, else rolled back. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A connection that cannot even roll back is broken: destroyed rather than reused.
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch((rollback: Error) => (broken = rollback));
    throw err;
  } finally {
    client.release(broken);
  }
}
