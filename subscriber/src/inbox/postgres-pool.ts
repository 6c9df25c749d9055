import type { Logger } from "@mesh/platform/logger";
import { createPostgresPool as createPool } from "@mesh/platform/postgres-pool";
import type pg from "pg";

export { inTransaction } from "@mesh/platform/postgres-pool";

/** Options of createPostgresPool. */
export interface PostgresPoolOptions {
  /** Connections at most; default 10. */
  max?: number;
  /** Told of errors on idle connections (the server restarted, the network dropped); default none. */
  logger?: Logger;
}

/** The subscriber's pool (platform's, named "subscriber") on the database at `url`. */
export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  return createPool(url, { ...options, applicationName: "subscriber" });
}
