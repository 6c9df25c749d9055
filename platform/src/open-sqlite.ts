import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** Options of openSqlite. */
export interface OpenSqliteOptions {
  /**
   * NORMAL survives a crash of the process (WAL), only an OS crash can lose the last commits;
   * FULL survives that too, with an fsync per commit. No default: each store says why.
   */
  synchronous: "NORMAL" | "FULL";
  /** How long a write waits for another process holding the file (a second instance, a backup), ms; default 5000. */
  busyTimeoutMs?: number;
}

/** Opens (creating it and its folder when needed) a SQLite file in WAL mode, or ":memory:". */
export function openSqlite(file: string, options: OpenSqliteOptions): Database.Database {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.synchronous}`);
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  return db;
}
