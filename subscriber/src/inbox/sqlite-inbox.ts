import type { EntryState, Inbox, InboxEntry, InboxRetention } from "./inbox.js";
import { countByState, toEntry, type InboxRow as Row } from "./inbox-row.js";
import { createSqliteGapStore } from "./sqlite-gap-store.js";
import { openSqlite } from "@mesh/platform/open-sqlite";

const schema = `
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  event_key TEXT NOT NULL,
  message_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  source TEXT NOT NULL,
  command TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL DEFAULT 0,
  published_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  age_from INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  UNIQUE (account_id, event_key)
);
CREATE INDEX IF NOT EXISTS inbox_due ON inbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS inbox_channel ON inbox (channel, published_at);
CREATE TABLE IF NOT EXISTS inbox_probe (id INTEGER PRIMARY KEY CHECK (id = 1), written_at INTEGER NOT NULL);
`;

/** Columns added after the first release: added in place to inbox files that lack them. */
const addedColumns: [name: string, definition: string][] = [
  ["traceparent", "TEXT NOT NULL DEFAULT ''"],
  ["tracestate", "TEXT NOT NULL DEFAULT ''"],
];

/** Options of openSqliteInbox. */
export interface SqliteInboxOptions extends InboxRetention {
  /** How long a write waits for another connection's lock (the CLI) before failing, ms; default 5000. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the SQLite inbox at `file`. WAL mode lets the dead-letter CLI work
 * on the same file while the service runs; every write is synchronous and durable before the
 * promise resolves, which is what "recorded before acknowledged" relies on.
 */
export function openSqliteInbox(file: string, options: SqliteInboxOptions = {}): Inbox {
  const rejectedKeep = options.rejectedKeep ?? 1000;
  const rejectedMaxAgeMs = options.rejectedMaxAgeMs ?? 7 * 86_400_000;
  const db = openSqlite(file, { synchronous: "FULL", busyTimeoutMs: options.busyTimeoutMs });
  db.exec(schema);
  // Immediate: the CLI may open the same old file at once, and only one of them may add a column.
  db.transaction(() => {
    const columns = db.prepare<[], { name: string }>("PRAGMA table_info(inbox)").all();
    const existing = new Set(columns.map((c) => c.name));
    for (const [name, definition] of addedColumns) {
      if (!existing.has(name)) db.exec(`ALTER TABLE inbox ADD COLUMN ${name} ${definition}`);
    }
  }).immediate();

  const insert = db.prepare(`
    INSERT INTO inbox (account_id, channel, event_key, message_id, event_id, source, command,
      payload, state, reason, published_at, received_at, age_from, next_attempt_at, updated_at,
      traceparent, tracestate)
    VALUES (@accountId, @channel, @eventKey, @messageId, @eventId, @source, @command,
      @payload, @state, @reason, @publishedAt, @receivedAt, @receivedAt, @receivedAt, @receivedAt,
      @traceparent, @tracestate)
    ON CONFLICT (account_id, event_key) DO NOTHING
    RETURNING *`);
  const byId = db.prepare<[number], Row>("SELECT * FROM inbox WHERE id = ?");
  const byKey = db.prepare<[string, string], Row>(
    "SELECT * FROM inbox WHERE account_id = ? AND event_key = ?",
  );
  const pruneRejected = db.prepare(`
    DELETE FROM inbox WHERE state = 'rejected' AND (received_at < @before OR id <= (
      SELECT id FROM inbox WHERE state = 'rejected' ORDER BY id DESC LIMIT 1 OFFSET @keep))`);
  const now = () => Date.now();
  // Prepared once: every call below only binds values.
  const nextDue = db.prepare<[number, string], Row>(
    `SELECT * FROM inbox WHERE state = 'pending' AND next_attempt_at <= ?
       AND account_id NOT IN (SELECT value FROM json_each(?))
       AND account_id NOT IN (SELECT account_id FROM inbox WHERE state = 'in_flight')
     ORDER BY next_attempt_at, id LIMIT 1`,
  );
  const markInFlight = db.prepare<[number, number]>(
    "UPDATE inbox SET state = 'in_flight', updated_at = ? WHERE id = ?",
  );
  const markDone = db.prepare<[string, string, number, number]>(
    "UPDATE inbox SET state = 'done', run_id = ?, result = ?, reason = '', updated_at = ? WHERE id = ?",
  );
  const markPending = db.prepare<
    [{ id: number; at: number; reason: string; runId: string | null; bump: number; now: number }]
  >(
    `UPDATE inbox SET state = 'pending', next_attempt_at = @at, reason = @reason,
       run_id = COALESCE(@runId, run_id), generation = generation + @bump,
       age_from = CASE WHEN @bump = 1 THEN @at ELSE age_from END, updated_at = @now
     WHERE id = @id`,
  );
  const markDead = db.prepare<[string, string | null, number, number]>(
    "UPDATE inbox SET state = 'dead', reason = ?, run_id = COALESCE(?, run_id), updated_at = ? WHERE id = ?",
  );
  const redriveDead = db.prepare<[{ id: number; at: number }]>(
    `UPDATE inbox SET state = 'pending', generation = generation + 1, attempts = 0,
       age_from = @at, next_attempt_at = @at, reason = '', run_id = '', updated_at = @at
     WHERE id = @id AND state = 'dead'`,
  );
  const discardDead = db.prepare<[number, number]>(
    "UPDATE inbox SET state = 'discarded', updated_at = ? WHERE id = ? AND state = 'dead'",
  );
  const releaseInFlight = db.prepare<[number]>(
    "UPDATE inbox SET state = 'pending', updated_at = ? WHERE state = 'in_flight'",
  );
  const addAttempt = db.prepare<[number]>("UPDATE inbox SET attempts = attempts + 1 WHERE id = ?");
  const listInState = db.prepare<[string, number, number], Row>(
    "SELECT * FROM inbox WHERE state = ? AND id < ? ORDER BY id DESC LIMIT ?",
  );
  const listAll = db.prepare<[number, number], Row>(
    "SELECT * FROM inbox WHERE id < ? ORDER BY id DESC LIMIT ?",
  );
  const stateCounts = db.prepare<[], { state: EntryState; n: number }>(
    "SELECT state, COUNT(*) AS n FROM inbox GROUP BY state",
  );
  const earliestDue = db.prepare<[], { at: number | null }>(
    `SELECT MIN(next_attempt_at) AS at FROM inbox WHERE state = 'pending'
       AND account_id NOT IN (SELECT account_id FROM inbox WHERE state = 'in_flight')`,
  );
  const oldestWaiting = db.prepare<[number], Row>(
    `SELECT * FROM inbox WHERE state IN ('pending', 'in_flight') AND age_from <= ?
     ORDER BY age_from, id LIMIT 1`,
  );
  const probe = db.prepare<[number]>(
    `INSERT INTO inbox_probe (id, written_at) VALUES (1, ?)
     ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at`,
  );
  const gaps = createSqliteGapStore(db);
  const latestRealtime = db.prepare<[string], { at: number | null }>(
    "SELECT MAX(published_at) AS at FROM inbox WHERE channel = ? AND source IN ('realtime', 'history')",
  );

  const record = db.transaction((entries: Parameters<Inbox["record"]>[0]) => {
    const added: InboxEntry[] = [];
    for (const entry of entries) {
      const row = insert.get({
        ...entry,
        traceparent: entry.traceparent ?? "",
        tracestate: entry.tracestate ?? "",
      }) as Row | undefined;
      if (row) added.push(toEntry(row));
    }
    if (added.some((e) => e.state === "rejected")) {
      pruneRejected.run({ before: now() - rejectedMaxAgeMs, keep: rejectedKeep });
    }
    return added;
  });

  const claim = db.transaction((at: number, busy: string[]) => {
    const row = nextDue.get(at, JSON.stringify(busy));
    if (!row) return undefined;
    markInFlight.run(now(), row.id);
    return toEntry({ ...row, state: "in_flight" });
  });

  return {
    record: async (entries) => record(entries),
    claimNext: async (at, busyAccounts) => claim(at, [...busyAccounts]),
    complete: async (id, outcome) => {
      markDone.run(outcome.runId, outcome.result, now(), id);
    },
    reschedule: async (id, change) => {
      markPending.run({
        id,
        at: change.at,
        reason: change.reason,
        runId: change.runId ?? null,
        bump: change.newRun ? 1 : 0,
        now: now(),
      });
    },
    kill: async (id, reason, runId) => {
      markDead.run(reason, runId ?? null, now(), id);
    },
    redrive: async (id, at) => redriveDead.run({ id, at }).changes === 1,
    discard: async (id, at) => discardDead.run(at, id).changes === 1,
    recoverInFlight: async () => releaseInFlight.run(now()).changes,
    countAttempt: async (id) => {
      addAttempt.run(id);
    },
    find: async (accountId, eventKey) => {
      const row = byKey.get(accountId, eventKey);
      return row ? toEntry(row) : undefined;
    },
    get: async (id) => {
      const row = byId.get(id);
      return row ? toEntry(row) : undefined;
    },
    list: async (filter = {}) => {
      const limit = filter.limit ?? 100;
      const before = filter.beforeId ?? Number.MAX_SAFE_INTEGER;
      const rows = filter.state
        ? listInState.all(filter.state, before, limit)
        : listAll.all(before, limit);
      return rows.map(toEntry);
    },
    counts: async () => countByState(stateCounts.all()),
    nextDueAt: async () => earliestDue.get()?.at ?? undefined,
    oldestWaiting: async (at) => {
      const row = oldestWaiting.get(at);
      return row ? toEntry(row) : undefined;
    },
    checkWritable: async () => {
      probe.run(now());
    },
    gaps,
    lastPublishedAt: async (channel) => latestRealtime.get(channel)?.at ?? undefined,
    watch: () => () => undefined,
    close: async () => {
      if (db.open) db.close();
    },
  };
}
