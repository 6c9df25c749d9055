import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { RunSchema, RunStatus, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { foldRun } from "./fold-run.js";
import type { JournalEntry } from "./journal-entry.js";
import { decodeJournalEvent, encodeJournalEvent } from "./journal-codec.js";
import { migrateLegacyRuns } from "./migrate-legacy-runs.js";
import { rebalanceResponses } from "./rebalance-responses.js";
import type { RecordedEvent } from "./recorded-event.js";
import { runMessage } from "./run-message.js";
import type { RunStore } from "./run-store.js";
import { openSqlite } from "@mesh/platform/open-sqlite";

interface RunRow {
  run_id: string;
  status: RunStatus;
  record: Buffer;
}

interface JournalRow {
  run_id: string;
  sequence: number;
  time: number;
  event: string;
}

/**
 * The embedded run store: one SQLite file (WAL). A run's journal is one row per event; its
 * record (the contract's binary form) is written when it begins and once more when it ends, and
 * a running run is read as the fold of its journal.
 */
export function createSqliteRunStore(file: string): RunStore {
  // NORMAL: only an OS crash can lose the last events, and the broker keeps the orders (tagged
  // with the run id). FULL would fsync every progress event.
  const db = openSqlite(file, { synchronous: "NORMAL" });
  db.exec(`
    CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      idempotency_key TEXT NOT NULL,
      status INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      record BLOB NOT NULL,
      UNIQUE (account_id, idempotency_key)
    );
    CREATE INDEX IF NOT EXISTS runs_by_account ON runs (account_id, created_at DESC);
    CREATE TABLE IF NOT EXISTS run_journal (
      run_id TEXT NOT NULL,
      sequence INTEGER NOT NULL,
      time INTEGER NOT NULL,
      event TEXT NOT NULL,
      PRIMARY KEY (run_id, sequence)
    );
  `);
  const legacy = migrateLegacyRuns(db);

  const insert = db.prepare(
    `INSERT INTO runs (run_id, account_id, idempotency_key, status, created_at, record)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, idempotency_key) DO NOTHING`,
  );
  const columns = `run_id, status, record`;
  const byKey = db.prepare(
    `SELECT ${columns} FROM runs WHERE account_id = ? AND idempotency_key = ?`,
  );
  const update = db.prepare(`UPDATE runs SET status = ?, record = ? WHERE run_id = ?`);
  const byId = db.prepare(`SELECT ${columns} FROM runs WHERE run_id = ?`);
  const byAccount = db.prepare(
    `SELECT ${columns} FROM runs WHERE account_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
  );
  // Older than a given run: (created_at, rowid) orders runs of one second as they were recorded.
  const byAccountBefore = db.prepare(
    `SELECT ${columns} FROM runs WHERE account_id = ?
       AND (created_at, rowid) < (SELECT created_at, rowid FROM runs WHERE run_id = ?)
     ORDER BY created_at DESC, rowid DESC LIMIT ?`,
  );
  const byStatus = db.prepare(`SELECT ${columns} FROM runs WHERE status = ?`);
  const addEvent = db.prepare(
    `INSERT INTO run_journal (run_id, sequence, time, event) VALUES (?, ?, ?, ?)`,
  );
  const journalOf = db.prepare(`SELECT * FROM run_journal WHERE run_id = ? ORDER BY sequence`);
  // The journal's rowid is its position: rows are appended, never deleted or rewritten, so
  // SQLite numbers them in the order they were recorded and never reuses a number.
  const journalAfter = db.prepare(
    `SELECT rowid AS position, * FROM run_journal WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  const journalEnd = db.prepare(`SELECT coalesce(max(rowid), 0) AS position FROM run_journal`);
  const probe = db.prepare(`SELECT count(*) AS n FROM runs`);

  const encode = (run: Run) => toBinary(RunSchema, run);
  const append = (e: RecordedEvent) =>
    addEvent.run(e.runId, e.sequence, e.time.getTime(), encodeJournalEvent(e.event));
  const recordedOf = (row: JournalRow): RecordedEvent => ({
    runId: row.run_id,
    sequence: row.sequence,
    time: new Date(row.time),
    event: decodeJournalEvent(row.event),
  });
  const events = (runId: string): RecordedEvent[] =>
    (journalOf.all(runId) as JournalRow[]).map(recordedOf);
  // A run that ended has its final record; a running one is the fold of its journal.
  const recordOf = (row: unknown): Run => {
    const r = row as RunRow;
    if (r.status === RunStatus.RUNNING) {
      const journal = events(r.run_id);
      if (journal.length > 0) return runMessage(foldRun(journal));
    }
    return fromBinary(RunSchema, r.record);
  };

  // The check-then-insert pair is one transaction, so two requests with one key make one run.
  const begin = db.transaction((accepted: RecordedEvent) => {
    if (accepted.event.kind !== "accepted") throw new Error("a run begins with its acceptance");
    const { header } = accepted.event;
    const run = runMessage(foldRun([accepted]));
    const result = insert.run(
      header.runId,
      header.accountId,
      header.idempotencyKey,
      run.status,
      header.createdAt.getTime(),
      encode(run),
    );
    if (result.changes !== 1) {
      return { run: recordOf(byKey.get(header.accountId, header.idempotencyKey)), created: false };
    }
    append(accepted);
    return { run, created: true };
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

  // The watches' reads, as often as events are recorded: they leave the health's last write
  // failure as it is, which a read going through says nothing about.
  const watched = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };

  return {
    begin: (accepted) => guarded(() => begin(accepted)),
    appendEvent: (event) => guarded(() => void append(event)),
    finish: (run) => guarded(() => void update.run(run.status, encode(run), run.runId)),
    events: (runId) => guarded(() => events(runId)),
    eventsAfter: (position, limit) =>
      watched(() =>
        (journalAfter.all(position, limit) as (JournalRow & { position: number })[]).map(
          (row): JournalEntry => ({ position: row.position, recorded: recordedOf(row) }),
        ),
      ),
    lastPosition: () => watched(() => (journalEnd.get() as { position: number }).position),
    responses: (runId) =>
      guarded(() => {
        const journal = events(runId);
        return journal.length > 0 || !legacy ? rebalanceResponses(journal) : legacy(runId);
      }),
    get: (runId) =>
      guarded(() => {
        const row = byId.get(runId);
        return row ? recordOf(row) : undefined;
      }),
    list: (accountId, limit, before) =>
      guarded(() =>
        (before === undefined
          ? byAccount.all(accountId, limit)
          : byAccountBefore.all(accountId, before, limit)
        ).map(recordOf),
      ),
    find: (accountId, idempotencyKey) =>
      guarded(() => {
        const row = byKey.get(accountId, idempotencyKey);
        return row ? recordOf(row) : undefined;
      }),
    running: () => guarded(() => byStatus.all(RunStatus.RUNNING).map(recordOf)),
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
