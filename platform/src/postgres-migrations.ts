// Versioned schema migrations for PostgreSQL: a small ordered list of SQL files per service
// (`001_runs.sql`, `002_…`), applied on start. Written here rather than taken from a migration
// tool because the needs are two: apply what is missing, in order, once — and stay safe when
// replicas start at once, which an advisory lock held for the migration's transaction gives.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";

/** One step of a schema: applied once, in version order. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations in a folder: files named `NNN_name.sql`, ordered by NNN. */
export function readMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d+)_(.+)\.sql$/.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([file, version, name]) => ({
      version: Number(version),
      name: name!,
      sql: readFileSync(join(dir, file!), "utf8"),
    }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Applies the migrations of `service` the database lacks, in one transaction (PostgreSQL's DDL is
 * transactional: all or nothing). A second replica starting at the same time waits on the lock,
 * then finds nothing left to do. Resolves with the versions applied.
 */
export async function migrate(
  pool: pg.Pool,
  service: string,
  migrations: Migration[],
): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`migrations:${service}`]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      service text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (service, version))`);
    const { rows } = await client.query<{ version: number }>(
      "SELECT version FROM schema_migrations WHERE service = $1",
      [service],
    );
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query(
        "INSERT INTO schema_migrations (service, version, name) VALUES ($1, $2, $3)",
        [service, migration.version, migration.name],
      );
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
