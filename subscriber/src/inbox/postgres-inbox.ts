import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import type { Logger } from "@mesh/platform/logger";
import { migrate, readMigrations } from "@mesh/platform/postgres-migrations";
import type pg from "pg";
import type { EntryState, Inbox, InboxEntry, InboxRetention, NewEntry } from "./inbox.js";
import { countByState, toEntry, type InboxRow } from "./inbox-row.js";
import { createPostgresGapStore } from "./postgres-gap-store.js";
import { listenPostgres, type PostgresListener } from "./postgres-listener.js";
import { createPostgresPool, inTransaction } from "./postgres-pool.js";

/** Options of openPostgresInbox. */
export interface PostgresInboxOptions extends InboxRetention {
  /**
   * A claim on an entry being delivered lapses when its replica has not renewed it for this
   * long, and another replica may then deliver the entry: the bound on a dead replica's hold,
   * ms. Renewed every third of it; default 15000.
   */
  claimTimeoutMs?: number;
  /** Names this process in the claims it holds (column claimed_by); default host:pid:random. */
  replica?: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /** Told of lost connections, lapsed claims and notification reconnects; default none. */
  logger?: Logger;
}

/** The NOTIFY channel of entries that may be due: recorded or re-driven. */
const waitingChannel = "subscriber_inbox";

/** Now on the database's clock, ms: leases compare against one clock, not each replica's. */
const dbNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/**
 * An outcome is written only by the holder of the entry's claim ($claim, the number it got): a
 * replica whose claim lapsed never overwrites what the replica that took over writes.
 */
const fenced = (claim: string) => `state = 'in_flight' AND claim = ${claim}`;

const migrationsDir = fileURLToPath(new URL("./postgres-migrations/", import.meta.url));

/**
 * Creates or updates the inbox's tables, from the versioned SQL files in postgres-migrations/
 * (platform's migrate: one transaction under an advisory lock, so replicas starting together
 * apply each version once).
 */
export async function migrateInbox(pool: pg.Pool): Promise<number[]> {
  return migrate(pool, "subscriber", readMigrations(migrationsDir));
}

/**
 * Opens the inbox in the PostgreSQL database at `url`, shared by every replica: each message is
 * recorded once (the unique event key decides, never a read first), replicas compete for
 * deliveries through claims taken with FOR UPDATE SKIP LOCKED and held as renewed leases, one
 * account has at most one entry in flight (a unique index says so), and LISTEN/NOTIFY wakes
 * every replica when an entry is recorded.
 */
export async function openPostgresInbox(
  url: string,
  options: PostgresInboxOptions = {},
): Promise<Inbox> {
  const rejectedKeep = options.rejectedKeep ?? 1000;
  const rejectedMaxAgeMs = options.rejectedMaxAgeMs ?? 7 * 86_400_000;
  const claimTimeoutMs = options.claimTimeoutMs ?? 15_000;
  const replica =
    options.replica ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const { logger } = options;
  const pool = createPostgresPool(url, { max: options.poolSize, logger });
  try {
    await migrateInbox(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }

  /** Claims this process took and has not written an outcome for: entry id -> claim number. */
  const held = new Map<number, number>();
  /** Held claims found lapsed: no longer renewed. */
  const lapsed = new Set<number>();
  const listeners = new Set<() => void>();
  let listener: PostgresListener | undefined;
  const rows = async <R extends pg.QueryResultRow = InboxRow>(sql: string, values: unknown[]) =>
    (await pool.query<R>(sql, values)).rows;
  const one = async (sql: string, values: unknown[]) => {
    const [row] = await rows(sql, values);
    return row ? toEntry(row) : undefined;
  };
  /** The claim to fence an outcome with; given up whether or not the outcome lands. */
  const release = (id: number) => {
    const claim = held.get(id) ?? null;
    held.delete(id);
    lapsed.delete(id);
    return claim;
  };

  const renew = async () => {
    const claims = [...held].filter(([id]) => !lapsed.has(id));
    if (claims.length === 0) return;
    const renewed = await rows<{ id: number }>(
      `UPDATE inbox SET lease_until = ${dbNow} + $3
       FROM unnest($1::bigint[], $2::bigint[]) AS held (id, claim)
       WHERE inbox.id = held.id AND inbox.claim = held.claim AND inbox.state = 'in_flight'
       RETURNING inbox.id`,
      [claims.map(([id]) => id), claims.map(([, claim]) => claim), claimTimeoutMs],
    );
    const kept = new Set(renewed.map((r) => r.id));
    for (const [id, claim] of claims) {
      if (kept.has(id) || held.get(id) !== claim) continue;
      // Still held here, so the outcome written later stays fenced by the old claim number.
      lapsed.add(id);
      logger?.warn({ entryId: id, replica }, "claim lapsed: another replica may deliver the entry");
    }
  };
  const renewal = setInterval(() => {
    renew().catch((err: Error) => logger?.warn({ err }, "cannot renew delivery claims"));
  }, claimTimeoutMs / 3);
  renewal.unref();

  const insert = `
    INSERT INTO inbox (account_id, channel, event_key, message_id, event_id, source, command,
      payload, state, reason, published_at, received_at, age_from, next_attempt_at, updated_at,
      traceparent, tracestate)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $12, $13, $14)
    ON CONFLICT (account_id, event_key) DO NOTHING
    RETURNING *`;
  const insertValues = (e: NewEntry) => [
    e.accountId,
    e.channel,
    e.eventKey,
    e.messageId,
    e.eventId,
    e.source,
    e.command,
    e.payload,
    e.state,
    e.reason,
    e.publishedAt,
    e.receivedAt,
    e.traceparent ?? "",
    e.tracestate ?? "",
  ];
  // The same order in every replica: two recording one message's accounts never deadlock.
  const byKey = (a: NewEntry, b: NewEntry) =>
    a.accountId.localeCompare(b.accountId) || a.eventKey.localeCompare(b.eventKey);

  // Candidates are each account's oldest due entry (or an entry whose claim lapsed) with nothing
  // else of its account in flight: replicas racing for one account meet on one row, which SKIP
  // LOCKED gives to one of them while the others move on to other accounts.
  const claimOldestDue = `
    UPDATE inbox SET state = 'in_flight', claim = claim + 1, claimed_by = $3,
      lease_until = ${dbNow} + $4, updated_at = $1
    WHERE id = (
      SELECT id FROM inbox AS e
      WHERE (e.state = 'pending' AND e.next_attempt_at <= $1
          OR e.state = 'in_flight' AND e.lease_until < ${dbNow})
        AND e.account_id <> ALL ($2::text[])
        AND NOT EXISTS (SELECT 1 FROM inbox AS f
          WHERE f.account_id = e.account_id AND f.state = 'in_flight' AND f.id <> e.id)
        AND NOT EXISTS (SELECT 1 FROM inbox AS older
          WHERE older.account_id = e.account_id AND older.state = 'pending'
            AND older.next_attempt_at <= $1
            AND (older.next_attempt_at, older.id) < (e.next_attempt_at, e.id))
      ORDER BY e.next_attempt_at, e.id
      LIMIT 1
      FOR UPDATE SKIP LOCKED)
    RETURNING *`;

  const inbox: Inbox = {
    record: async (entries) => {
      const added = await inTransaction(pool, async (client) => {
        const recorded = new Map<NewEntry, InboxEntry>();
        for (const entry of [...entries].sort(byKey)) {
          const [row] = (await client.query<InboxRow>(insert, insertValues(entry))).rows;
          if (row) recorded.set(entry, toEntry(row));
        }
        const states = new Set([...recorded.values()].map((e) => e.state));
        if (states.has("rejected")) {
          await client.query(
            `DELETE FROM inbox WHERE state = 'rejected' AND (received_at < $1 OR id <= (
               SELECT id FROM inbox WHERE state = 'rejected' ORDER BY id DESC LIMIT 1 OFFSET $2))`,
            [Date.now() - rejectedMaxAgeMs, rejectedKeep],
          );
        }
        // Sent at commit, so whoever wakes finds the entries.
        if (states.has("pending")) await client.query("SELECT pg_notify($1, '')", [waitingChannel]);
        return recorded;
      });
      return entries.flatMap((entry) => added.get(entry) ?? []);
    },
    claimNext: async (now, busyAccounts) => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        try {
          const [row] = await rows<InboxRow & { claim: number }>(claimOldestDue, [
            now,
            [...busyAccounts],
            replica,
            claimTimeoutMs,
          ]);
          if (!row) return undefined;
          held.set(row.id, row.claim);
          return toEntry(row);
        } catch (err) {
          // Another replica put an entry of the same account in flight at the same moment (the
          // unique index refused the second): looking again skips that account.
          if ((err as { code?: string }).code !== "23505") throw err;
        }
      }
      // Others keep taking these accounts: nothing for this replica now; its next poll asks again.
      return undefined;
    },
    complete: async (id, outcome) => {
      await pool.query(
        `UPDATE inbox SET state = 'done', run_id = $2, result = $3, reason = '', updated_at = $4
         WHERE id = $1 AND ${fenced("$5")}`,
        [id, outcome.runId, outcome.result, Date.now(), release(id)],
      );
    },
    reschedule: async (id, change) => {
      await pool.query(
        `UPDATE inbox SET state = 'pending', next_attempt_at = $2, reason = $3,
           run_id = COALESCE($4, run_id), generation = generation + $5,
           age_from = CASE WHEN $5 = 1 THEN $2 ELSE age_from END, updated_at = $6
         WHERE id = $1 AND ${fenced("$7")}`,
        [
          id,
          change.at,
          change.reason,
          change.runId ?? null,
          change.newRun ? 1 : 0,
          Date.now(),
          release(id),
        ],
      );
    },
    kill: async (id, reason, runId) => {
      await pool.query(
        `UPDATE inbox SET state = 'dead', reason = $2, run_id = COALESCE($3, run_id),
           updated_at = $4
         WHERE id = $1 AND ${fenced("$5")}`,
        [id, reason, runId ?? null, Date.now(), release(id)],
      );
    },
    redrive: async (id, at) => {
      const { rowCount } = await pool.query(
        `WITH redriven AS (
           UPDATE inbox SET state = 'pending', generation = generation + 1, attempts = 0,
             age_from = $2, next_attempt_at = $2, reason = '', run_id = '', updated_at = $2
           WHERE id = $1 AND state = 'dead' RETURNING id)
         SELECT pg_notify($3, '') FROM redriven`,
        [id, at, waitingChannel],
      );
      return rowCount === 1;
    },
    discard: async (id, at) => {
      const { rowCount } = await pool.query(
        "UPDATE inbox SET state = 'discarded', updated_at = $2 WHERE id = $1 AND state = 'dead'",
        [id, at],
      );
      return rowCount === 1;
    },
    recoverInFlight: async () => {
      const { rowCount } = await pool.query(
        `UPDATE inbox SET state = 'pending', updated_at = $1
         WHERE state = 'in_flight' AND lease_until < ${dbNow}`,
        [Date.now()],
      );
      return rowCount ?? 0;
    },
    countAttempt: async (id) => {
      await pool.query("UPDATE inbox SET attempts = attempts + 1 WHERE id = $1", [id]);
    },
    get: (id) => one("SELECT * FROM inbox WHERE id = $1", [id]),
    find: (accountId, eventKey) =>
      one("SELECT * FROM inbox WHERE account_id = $1 AND event_key = $2", [accountId, eventKey]),
    list: async (filter = {}) => {
      const limit = filter.limit ?? 100;
      const before = filter.beforeId ?? Number.MAX_SAFE_INTEGER;
      const found = filter.state
        ? await rows("SELECT * FROM inbox WHERE state = $1 AND id < $2 ORDER BY id DESC LIMIT $3", [
            filter.state,
            before,
            limit,
          ])
        : await rows("SELECT * FROM inbox WHERE id < $1 ORDER BY id DESC LIMIT $2", [
            before,
            limit,
          ]);
      return found.map(toEntry);
    },
    counts: async () =>
      countByState(
        await rows<{ state: EntryState; n: number }>(
          "SELECT state, COUNT(*) AS n FROM inbox GROUP BY state",
          [],
        ),
      ),
    nextDueAt: async () => {
      const [row] = await rows<{ at: number | null }>(
        `SELECT MIN(next_attempt_at) AS at FROM inbox WHERE state = 'pending'
           AND account_id NOT IN (SELECT account_id FROM inbox WHERE state = 'in_flight')`,
        [],
      );
      return row?.at ?? undefined;
    },
    oldestWaiting: (at) =>
      one(
        `SELECT * FROM inbox WHERE state IN ('pending', 'in_flight') AND age_from <= $1
         ORDER BY age_from, id LIMIT 1`,
        [at],
      ),
    checkWritable: async () => {
      await pool.query(
        `INSERT INTO inbox_probe (id, written_at) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at`,
        [Date.now()],
      );
    },
    gaps: createPostgresGapStore(pool),
    lastPublishedAt: async (channel) => {
      const [row] = await rows<{ at: number | null }>(
        `SELECT MAX(published_at) AS at FROM inbox
         WHERE channel = $1 AND source IN ('realtime', 'history')`,
        [channel],
      );
      return row?.at ?? undefined;
    },
    watch: (onWaiting) => {
      listeners.add(onWaiting);
      listener ??= listenPostgres({
        url,
        channel: waitingChannel,
        onNotify: () => {
          for (const notify of listeners) notify();
        },
        logger,
      });
      return () => listeners.delete(onWaiting);
    },
    close: () => (closing ??= close()),
  };

  let closing: Promise<void> | undefined;
  const close = async () => {
    clearInterval(renewal);
    await listener?.close();
    // A replica that stops hands its claims over at once rather than when they lapse.
    const claims = [...held];
    held.clear();
    if (claims.length > 0) {
      await pool
        .query(
          `UPDATE inbox SET state = 'pending', updated_at = $3
           FROM unnest($1::bigint[], $2::bigint[]) AS held (id, claim)
           WHERE inbox.id = held.id AND inbox.claim = held.claim AND inbox.state = 'in_flight'`,
          [claims.map(([id]) => id), claims.map(([, claim]) => claim), Date.now()],
        )
        .catch((err: Error) => logger?.warn({ err }, "cannot hand delivery claims back"));
    }
    await pool.end();
  };
  return inbox;
}
