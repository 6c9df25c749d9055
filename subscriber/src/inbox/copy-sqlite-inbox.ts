import Database from "better-sqlite3";
import type pg from "pg";
import { gapColumns } from "./gap-row.js";
import type { EntryState } from "./inbox.js";
import { inboxColumns } from "./inbox-row.js";
import { inTransaction } from "./postgres-pool.js";

/** What a copy moved. */
export interface InboxCopy {
  /** Entries by their state in PostgreSQL (an entry in flight in SQLite arrives pending). */
  entries: Partial<Record<EntryState, number>>;
  /** Realtime gaps, every state. */
  gaps: number;
  /** Channel marks. */
  marks: number;
}

/** Thrown when the PostgreSQL inbox is not empty: a copy never merges into live data. */
export class InboxNotEmptyError extends Error {}

/** Rows sent per INSERT: a few MB at most with payloads of a few kB. */
const batchSize = 500;

/**
 * Copies the SQLite inbox at `file` (entries, dead letters included, realtime gaps and channel
 * marks) into the PostgreSQL inbox behind `pool`, whose tables must exist (migrateInbox) and be
 * empty: in one transaction, with the tables locked against a subscriber started too early, so a
 * failed copy leaves nothing behind. Ids are kept (an operator's notes about dead letter 42 or gap
 * 7 still hold) and the id sequences continue after them. An entry in flight when the SQLite
 * service stopped arrives pending, as that service's next start would have made it. The file is
 * only read.
 */
export async function copySqliteInbox(file: string, pool: pg.Pool): Promise<InboxCopy> {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = new Set(
      sqlite
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((t) => t.name),
    );
    return await inTransaction(pool, async (client) => {
      await client.query("LOCK TABLE inbox, realtime_gaps, realtime_marks IN EXCLUSIVE MODE");
      const { rows } = await client.query<{ entries: number; gaps: number; marks: number }>(
        `SELECT (SELECT COUNT(*) FROM inbox) AS entries, (SELECT COUNT(*) FROM realtime_gaps) AS gaps,
           (SELECT COUNT(*) FROM realtime_marks) AS marks`,
      );
      const held = rows[0]!;
      if (held.entries + held.gaps + held.marks > 0) {
        throw new InboxNotEmptyError(
          `the PostgreSQL inbox already holds ${held.entries} entries, ${held.gaps} gaps and ${held.marks} marks: copy into an empty database, before any subscriber runs on it`,
        );
      }
      const copy: InboxCopy = { entries: {}, gaps: 0, marks: 0 };
      // Files written before the trace context columns lack them: they read as "".
      const entries = sqlite.prepare<[], Record<string, unknown>>(
        "SELECT * FROM inbox ORDER BY id",
      );
      await insertAll(client, "inbox", inboxColumns, entries.iterate(), (row) => {
        const state = (row.state === "in_flight" ? "pending" : row.state) as EntryState;
        copy.entries[state] = (copy.entries[state] ?? 0) + 1;
        return { traceparent: "", tracestate: "", ...row, state };
      });
      // Files written before realtime continuity was kept have no gaps and no marks.
      if (tables.has("realtime_gaps")) {
        const gaps = sqlite.prepare<[], Record<string, unknown>>(
          "SELECT * FROM realtime_gaps ORDER BY id",
        );
        copy.gaps = await insertAll(client, "realtime_gaps", gapColumns, gaps.iterate());
      }
      if (tables.has("realtime_marks")) {
        const marks = sqlite.prepare<[], Record<string, unknown>>("SELECT * FROM realtime_marks");
        copy.marks = await insertAll(
          client,
          "realtime_marks",
          ["channel", "covered_until"],
          marks.iterate(),
        );
      }
      for (const table of ["inbox", "realtime_gaps"]) {
        // The next id PostgreSQL gives follows the largest copied one.
        await client.query(
          `SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE(MAX(id), 0) + 1, false)
           FROM ${table}`,
          [table],
        );
      }
      return copy;
    });
  } finally {
    sqlite.close();
  }
}

/** Inserts the rows in batches, as JSON turned into rows of the table's own type; returns how many. */
async function insertAll(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<Record<string, unknown>>,
  adapt: (row: Record<string, unknown>) => Record<string, unknown> = (row) => row,
): Promise<number> {
  const list = columns.join(", ");
  const insert = `INSERT INTO ${table} (${list})
    SELECT ${list} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`;
  let count = 0;
  let batch: Record<string, unknown>[] = [];
  const flush = async () => {
    if (batch.length > 0) await client.query(insert, [JSON.stringify(batch)]);
    batch = [];
  };
  for (const row of rows) {
    batch.push(adapt(row));
    count++;
    if (batch.length === batchSize) await flush();
  }
  await flush();
  return count;
}
