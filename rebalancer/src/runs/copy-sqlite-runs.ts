import Database from "better-sqlite3";
import type pg from "pg";
import { RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import { inTransaction } from "@mesh/platform/postgres-pool";
import { createSqliteRunStore } from "./sqlite-run-store.js";

/** What a copy moved. */
export interface RunsCopy {
  runs: number;
  /** Runs left running by the stopped service: the replicas resume them (takeover). */
  running: number;
  /** Journal rows. */
  events: number;
  /** Runs recorded before journals: their records are copied, their replays are not. */
  withoutJournal: number;
}

/** Thrown when the PostgreSQL run store is not empty: a copy never merges into live data. */
export class RunStoreNotEmptyError extends Error {}

/** Rows sent per INSERT. */
const batchSize = 500;

/**
 * Copies the SQLite run store at `file` (runs, their records and journals) into the PostgreSQL
 * run store behind `pool`, whose tables must exist (migrateRunStore) and be empty: in one
 * transaction, the tables locked against a replica started too early, so a failed copy leaves
 * nothing behind. Runs keep their ids and the order they were recorded in. The file is first
 * brought up to this version, as a start of the SQLite service would (a run a version before
 * journals left running is marked interrupted); otherwise it is only read.
 */
export async function copySqliteRuns(file: string, pool: pg.Pool): Promise<RunsCopy> {
  await createSqliteRunStore(file).close();
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return await inTransaction(pool, async (client) => {
      await client.query("LOCK TABLE runs, run_journal, account_leases IN EXCLUSIVE MODE");
      const { rows } = await client.query<{ runs: number }>(
        "SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM account_leases) AS runs",
      );
      if (Number(rows[0]!.runs) > 0) {
        throw new RunStoreNotEmptyError(
          "the PostgreSQL run store already holds runs or account leases: copy into an empty database, before any rebalancer runs on it",
        );
      }
      const copy: RunsCopy = { runs: 0, running: 0, events: 0, withoutJournal: 0 };
      const runs = sqlite
        .prepare<[], RunRow>(
          `SELECT run_id, account_id, idempotency_key, status, created_at, record,
             EXISTS (SELECT 1 FROM run_journal j WHERE j.run_id = runs.run_id) AS journaled
           FROM runs ORDER BY created_at, rowid`,
        )
        .iterate();
      await inBatches(runs, async (batch) => {
        await client.query(
          // In the file's order: the recorded sequence keeps runs of one millisecond in order.
          `INSERT INTO runs (run_id, account_id, idempotency_key, status, created_at, record)
           SELECT run_id, account_id, idempotency_key, status, created_at, record
           FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::bytea[])
             WITH ORDINALITY AS r(run_id, account_id, idempotency_key, status, created_at, record, n)
           ORDER BY n`,
          [
            batch.map((r) => r.run_id),
            batch.map((r) => r.account_id),
            batch.map((r) => r.idempotency_key),
            batch.map((r) => r.status),
            batch.map((r) => r.created_at),
            batch.map((r) => r.record),
          ],
        );
        copy.runs += batch.length;
        copy.running += batch.filter((r) => r.status === RunStatus.RUNNING).length;
        copy.withoutJournal += batch.filter((r) => !r.journaled).length;
      });
      const journal = sqlite
        // In the order recorded: positions are drawn in insert order.
        .prepare<[], JournalRow>("SELECT * FROM run_journal ORDER BY rowid")
        .iterate();
      await inBatches(journal, async (batch) => {
        await client.query(
          `INSERT INTO run_journal (run_id, sequence, time, event)
           SELECT run_id, sequence, time, event
           FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[])
             WITH ORDINALITY AS j(run_id, sequence, time, event, n)
           ORDER BY n`,
          [
            batch.map((r) => r.run_id),
            batch.map((r) => r.sequence),
            batch.map((r) => r.time),
            batch.map((r) => r.event),
          ],
        );
        copy.events += batch.length;
      });
      return copy;
    });
  } finally {
    sqlite.close();
  }
}

interface RunRow {
  run_id: string;
  account_id: string;
  idempotency_key: string;
  status: number;
  created_at: number;
  record: Buffer;
  journaled: number;
}

interface JournalRow {
  run_id: string;
  sequence: number;
  time: number;
  event: string;
}

async function inBatches<T>(rows: Iterable<T>, insert: (batch: T[]) => Promise<void>) {
  let batch: T[] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length === batchSize) {
      await insert(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await insert(batch);
}
