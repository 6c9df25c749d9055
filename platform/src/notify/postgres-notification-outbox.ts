import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { createPostgresPool } from "../postgres-pool.js";
import { migrate, readMigrations } from "../postgres-migrations.js";
import type { Notification } from "./notification.js";
import type { NotificationOutbox, OutboxCounts, OutboxRow } from "./notification-outbox.js";
import type { StoredTraceContext } from "../stored-trace-context.js";

const noTrace: StoredTraceContext = { traceparent: "", tracestate: "" };

/** Options of openPostgresNotificationOutbox. */
export interface PostgresNotificationOutboxOptions {
  /**
   * A replica's hold on a receiver lapses when not renewed for this long, and another replica
   * then sends that receiver's notifications, ms; default 120_000 (longer than an attempt).
   */
  leaseMs?: number;
  /** Names this process in the leases; default host:pid:random. */
  holder?: string;
  /** Delivered and abandoned rows are deleted once older than this, ms; default 7 days. */
  keepMs?: number;
}

const migrationsDir = fileURLToPath(new URL("./postgres-migrations/", import.meta.url));

/** Now on the database's clock, ms: leases compare against one clock, not each replica's. */
const dbNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

interface Row {
  notification_id: string;
  target: string;
  notification: string;
  attempts: number;
  created_at: string;
  traceparent: string;
  tracestate: string;
}

/**
 * Opens the outbox in the PostgreSQL database at `url`, shared by replicas (its tables created
 * by versioned migrations, service "notifications"). Each receiver is sent to by one replica at
 * a time, the holder of its lease: a replica that stops is replaced once its lease lapses, or at
 * once when it closes.
 */
export async function openPostgresNotificationOutbox(
  url: string,
  options: PostgresNotificationOutboxOptions = {},
): Promise<NotificationOutbox> {
  const leaseMs = options.leaseMs ?? 120_000;
  const keepMs = options.keepMs ?? 7 * 86_400_000;
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const pool = createPostgresPool(url, { max: 4, applicationName: "notifications" });
  try {
    await migrate(pool, "notifications", readMigrations(migrationsDir));
  } catch (err) {
    await pool.end();
    throw err;
  }

  let closed = false;
  const settle = async (state: string, id: string, target: string, reason: string) => {
    await pool.query(
      `UPDATE notification_outbox SET state = $1, last_error = $2, updated_at = ${dbNow}
       WHERE notification_id = $3 AND target = $4 AND state = 'pending'`,
      [state, reason, id, target],
    );
  };

  return {
    shared: true,
    async add(notification: Notification, keys, trace = noTrace) {
      const json = JSON.stringify(notification);
      await pool.query(
        `INSERT INTO notification_outbox (notification_id, target, notification, traceparent,
           tracestate, created_at, updated_at)
         SELECT $1, key, $2, $4, $5, ${dbNow}, ${dbNow} FROM unnest($3::text[]) AS key
         ON CONFLICT (notification_id, target) DO NOTHING`,
        [notification.id, json, keys, trace.traceparent, trace.tracestate],
      );
      await pool.query(
        `DELETE FROM notification_outbox WHERE state != 'pending' AND updated_at < ${dbNow} - $1`,
        [keepMs],
      );
    },
    async next(target) {
      const lease = await pool.query(
        `INSERT INTO notification_senders (target, holder, held_until)
         VALUES ($1, $2, ${dbNow} + $3)
         ON CONFLICT (target) DO UPDATE SET holder = EXCLUDED.holder, held_until = EXCLUDED.held_until
         WHERE notification_senders.holder = EXCLUDED.holder
            OR notification_senders.held_until < ${dbNow}
         RETURNING holder`,
        [target, holder, leaseMs],
      );
      if (lease.rowCount === 0) return undefined;
      const { rows } = await pool.query<Row>(
        `SELECT * FROM notification_outbox WHERE state = 'pending' AND target = $1
         ORDER BY seq LIMIT 1`,
        [target],
      );
      const found = rows[0];
      return (
        found &&
        ({
          notification: JSON.parse(found.notification) as Notification,
          target: found.target,
          attempts: found.attempts,
          createdAt: Number(found.created_at),
          trace: { traceparent: found.traceparent, tracestate: found.tracestate },
        } satisfies OutboxRow)
      );
    },
    async pendingTargets() {
      const { rows } = await pool.query<{ target: string }>(
        "SELECT DISTINCT target FROM notification_outbox WHERE state = 'pending'",
      );
      return rows.map((r) => r.target);
    },
    async attemptFailed(id, target, error) {
      await pool.query(
        `UPDATE notification_outbox SET attempts = attempts + 1, last_error = $1,
           updated_at = ${dbNow} WHERE notification_id = $2 AND target = $3`,
        [error, id, target],
      );
    },
    delivered: (id, target) => settle("delivered", id, target, ""),
    abandon: (id, target, reason) => settle("abandoned", id, target, reason),
    async counts() {
      const { rows } = await pool.query<{ state: string; n: string }>(
        "SELECT state, COUNT(*) AS n FROM notification_outbox GROUP BY state",
      );
      const counts: OutboxCounts = { pending: 0, delivered: 0, abandoned: 0 };
      for (const { state, n } of rows) counts[state as keyof OutboxCounts] = Number(n);
      return counts;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Another replica takes this one's receivers over at once rather than after the lease.
      await pool
        .query("DELETE FROM notification_senders WHERE holder = $1", [holder])
        .catch(() => undefined);
      await pool.end();
    },
  };
}
