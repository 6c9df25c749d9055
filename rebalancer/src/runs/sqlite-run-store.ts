import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import {
  RebalanceResponseSchema,
  RunSchema,
  RunStatus,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { foldOrderEvents } from "./fold-order-events.js";
import type { RunStore } from "./run-store.js";

/** The embedded run store: one SQLite file (WAL), records kept as the contract's binary form. */
export function createSqliteRunStore(file: string): RunStore {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // NORMAL in WAL survives a process crash; only an OS crash can lose the last events, and the
  // broker keeps the orders (tagged with the run id). FULL would fsync every progress event.
  db.pragma("synchronous = NORMAL");
  // Another process holding the file (a second instance, a backup) is waited for, not an error.
  db.pragma("busy_timeout = 5000");
  db.exec(`
    CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      idempotency_key TEXT NOT NULL,
      status INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      record BLOB NOT NULL,
      through_sequence INTEGER NOT NULL DEFAULT 0,
      UNIQUE (account_id, idempotency_key)
    );
    CREATE INDEX IF NOT EXISTS runs_by_account ON runs (account_id, created_at DESC);
    CREATE TABLE IF NOT EXISTS run_events (
      run_id TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      event BLOB NOT NULL,
      PRIMARY KEY (run_id, sequence)
    );
  `);
  // Files made before the record was saved at phase boundaries only: their records hold every
  // event, which the fold leaves unchanged.
  const columns = db.prepare(`PRAGMA table_info(runs)`).all() as { name: string }[];
  if (!columns.some((c) => c.name === "through_sequence")) {
    db.exec(`ALTER TABLE runs ADD COLUMN through_sequence INTEGER NOT NULL DEFAULT 0`);
  }
  const insert = db.prepare(
    `INSERT INTO runs (run_id, account_id, idempotency_key, status, created_at, record)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, idempotency_key) DO NOTHING`,
  );
  const columnsRead = `run_id, record, through_sequence`;
  const byKey = db.prepare(
    `SELECT ${columnsRead} FROM runs WHERE account_id = ? AND idempotency_key = ?`,
  );
  const update = db.prepare(
    `UPDATE runs SET status = ?, record = ?, through_sequence = ? WHERE run_id = ?`,
  );
  const lastSequence = db.prepare(
    `SELECT coalesce(max(sequence), 0) AS n FROM run_events WHERE run_id = ?`,
  );
  const byId = db.prepare(`SELECT ${columnsRead} FROM runs WHERE run_id = ?`);
  const byAccount = db.prepare(
    `SELECT ${columnsRead} FROM runs WHERE account_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
  );
  // Older than a given run: (created_at, rowid) orders runs of one second as they were recorded.
  const byAccountBefore = db.prepare(
    `SELECT ${columnsRead} FROM runs WHERE account_id = ?
       AND (created_at, rowid) < (SELECT created_at, rowid FROM runs WHERE run_id = ?)
     ORDER BY created_at DESC, rowid DESC LIMIT ?`,
  );
  const byStatus = db.prepare(`SELECT ${columnsRead} FROM runs WHERE status = ?`);
  const eventsAfter = db.prepare(
    `SELECT event FROM run_events WHERE run_id = ? AND sequence > ? ORDER BY sequence`,
  );
  const addEvent = db.prepare(`INSERT INTO run_events (run_id, sequence, event) VALUES (?, ?, ?)`);
  const eventsOf = db.prepare(`SELECT event FROM run_events WHERE run_id = ? ORDER BY sequence`);
  const probe = db.prepare(`SELECT count(*) AS n FROM runs`);

  const decodeEvent = (row: unknown) =>
    fromBinary(RebalanceResponseSchema, (row as { event: Buffer }).event);
  // The record as saved, then the order events appended after it.
  const decode = (row: unknown) => {
    const r = row as { run_id: string; record: Buffer; through_sequence: number };
    const run = fromBinary(RunSchema, r.record);
    return foldOrderEvents(run, eventsAfter.all(r.run_id, r.through_sequence).map(decodeEvent));
  };
  const encode = (run: Run) => toBinary(RunSchema, run);
  const millis = (run: Run) => Number(run.createdAt?.seconds ?? 0n) * 1000;

  // The check-then-insert pair is one transaction, so two requests with one key make one run.
  const begin = db.transaction((run: Run) => {
    const result = insert.run(
      run.runId,
      run.accountId,
      run.idempotencyKey,
      run.status,
      millis(run),
      encode(run),
    );
    if (result.changes === 1) return { run, created: true };
    return { run: decode(byKey.get(run.accountId, run.idempotencyKey)), created: false };
  });

  let lastError = "";
  const guarded = <T>(work: () => T): Promise<T> => {
    try {
      const value = work();
      lastError = "";
      return Promise.resolve(value);
    } catch (err) {
      lastError = (err as Error).message;
      return Promise.reject(err);
    }
  };

  return {
    begin: (run) => guarded(() => begin(run)),
    save: (run, throughSequence) =>
      guarded(() => {
        const through = throughSequence ?? (lastSequence.get(run.runId) as { n: number }).n;
        update.run(run.status, encode(run), through, run.runId);
      }),
    appendEvent: (event: RebalanceResponse) =>
      guarded(() => {
        addEvent.run(event.runId, event.sequence, toBinary(RebalanceResponseSchema, event));
      }),
    events: (runId) => guarded(() => eventsOf.all(runId).map(decodeEvent)),
    get: (runId) =>
      guarded(() => {
        const row = byId.get(runId);
        return row ? decode(row) : undefined;
      }),
    list: (accountId, limit, before) =>
      guarded(() =>
        (before === undefined
          ? byAccount.all(accountId, limit)
          : byAccountBefore.all(accountId, before, limit)
        ).map(decode),
      ),
    running: () => guarded(() => byStatus.all(RunStatus.RUNNING).map(decode)),
    health() {
      try {
        probe.get();
        return lastError
          ? { ok: false, detail: `last write failed: ${lastError}` }
          : { ok: true, detail: `sqlite ${file}` };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
    close: async () => {
      db.close();
    },
  };
}
