import type { Notification } from "./notification.js";
import type { NotificationOutbox, OutboxCounts, OutboxRow } from "./notification-outbox.js";
import type { StoredTraceContext } from "../stored-trace-context.js";
import { openSqlite } from "../open-sqlite.js";

const noTrace: StoredTraceContext = { traceparent: "", tracestate: "" };

const schema = `
CREATE TABLE IF NOT EXISTS notification_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id TEXT NOT NULL,
  target TEXT NOT NULL,
  notification TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  traceparent TEXT NOT NULL DEFAULT '',
  tracestate TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (notification_id, target)
);
CREATE INDEX IF NOT EXISTS notification_outbox_pending ON notification_outbox (state, target, seq);
`;

/** Options of openSqliteNotificationOutbox. */
export interface SqliteNotificationOutboxOptions {
  /** Delivered and abandoned rows are deleted once older than this, ms; default 7 days. */
  keepMs?: number;
}

interface Row {
  notification_id: string;
  target: string;
  notification: string;
  attempts: number;
  created_at: number;
  traceparent: string;
  tracestate: string;
}

/**
 * Opens (creating if needed) the outbox table in the SQLite file `file`, which may be another
 * store's file (the subscriber's inbox): WAL mode lets both connections work on it. Every write
 * is committed before its promise resolves.
 */
export function openSqliteNotificationOutbox(
  file: string,
  options: SqliteNotificationOutboxOptions = {},
): NotificationOutbox {
  const keepMs = options.keepMs ?? 7 * 86_400_000;
  // As durable as the run store's records (NORMAL: a crash of the process loses nothing; a
  // power cut may lose the last commits, the run's record with them).
  const db = openSqlite(file, { synchronous: "NORMAL" });
  db.exec(schema);

  const insert = db.prepare<[string, string, string, string, string, number, number]>(
    `INSERT INTO notification_outbox (notification_id, target, notification, traceparent,
       tracestate, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (notification_id, target) DO NOTHING`,
  );
  const prune = db.prepare<[number]>(
    "DELETE FROM notification_outbox WHERE state != 'pending' AND updated_at < ?",
  );
  const nextOf = db.prepare<[string], Row>(
    `SELECT * FROM notification_outbox WHERE state = 'pending' AND target = ? ORDER BY seq LIMIT 1`,
  );
  const targets = db.prepare<[], { target: string }>(
    "SELECT DISTINCT target FROM notification_outbox WHERE state = 'pending'",
  );
  const failed = db.prepare<[string, number, string, string]>(
    `UPDATE notification_outbox SET attempts = attempts + 1, last_error = ?, updated_at = ?
     WHERE notification_id = ? AND target = ?`,
  );
  const settle = db.prepare<[string, string, number, string, string]>(
    `UPDATE notification_outbox SET state = ?, last_error = ?, updated_at = ?
     WHERE notification_id = ? AND target = ? AND state = 'pending'`,
  );
  const byState = db.prepare<[], { state: string; n: number }>(
    "SELECT state, COUNT(*) AS n FROM notification_outbox GROUP BY state",
  );
  const addAll = db.transaction(
    (notification: Notification, keys: readonly string[], trace: StoredTraceContext) => {
      const now = Date.now();
      const json = JSON.stringify(notification);
      for (const key of keys) {
        insert.run(notification.id, key, json, trace.traceparent, trace.tracestate, now, now);
      }
      prune.run(now - keepMs);
    },
  );
  prune.run(Date.now() - keepMs);

  const row = (r: Row): OutboxRow => ({
    notification: JSON.parse(r.notification) as Notification,
    target: r.target,
    attempts: r.attempts,
    createdAt: r.created_at,
    trace: { traceparent: r.traceparent, tracestate: r.tracestate },
  });

  return {
    shared: false,
    add: async (notification, keys, trace = noTrace) => {
      addAll(notification, keys, trace);
    },
    next: async (target) => {
      const found = nextOf.get(target);
      return found && row(found);
    },
    pendingTargets: async () => targets.all().map((r) => r.target),
    attemptFailed: async (id, target, error) => {
      failed.run(error, Date.now(), id, target);
    },
    delivered: async (id, target) => {
      settle.run("delivered", "", Date.now(), id, target);
    },
    abandon: async (id, target, reason) => {
      settle.run("abandoned", reason, Date.now(), id, target);
    },
    counts: async () => {
      const counts: OutboxCounts = { pending: 0, delivered: 0, abandoned: 0 };
      for (const { state, n } of byState.all()) counts[state as keyof OutboxCounts] = n;
      return counts;
    },
    close: async () => {
      if (db.open) db.close();
    },
  };
}
