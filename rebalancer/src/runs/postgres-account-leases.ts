// A lease row per account rather than a session advisory lock held for the run: a lock lives
// on one connection, so a pooled store would need a dedicated connection per running account,
// a dropped connection silently frees the account while the run goes on, and nothing would
// name the holder or its broker client for a takeover. A row with an expiry on the database's
// clock, renewed by a heartbeat, bounds a dead replica's hold to the lease time; its fencing
// token, raised at each acquisition and checked by every run write, stops a replica that lost
// the account (paused, cut off) from writing over the one that took it over.
import type { Logger } from "@mesh/platform/logger";
import type pg from "pg";
import { RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { AccountLease, AccountLeases } from "./account-leases.js";

/** Options of createPostgresAccountLeases. */
export interface PostgresAccountLeasesOptions {
  /** The database, with the rebalancer's migrations applied (the run store's pool). */
  pool: pg.Pool;
  /** Names this replica in the leases it holds; unique per process. No default. */
  replica: string;
  /** This replica's broker client id (IBKR_CLIENT_ID). No default. */
  brokerClient: number;
  /** How long a lease lasts unless renewed (renewed every third of it), ms; default 10000. */
  leaseMs?: number;
  /** Told of lost leases and failed renewals; default none. */
  logger?: Logger;
}

export function createPostgresAccountLeases(options: PostgresAccountLeasesOptions): AccountLeases {
  const { pool, replica, brokerClient, logger } = options;
  const leaseMs = options.leaseMs ?? 10_000;
  const held = new Map<string, AccountLease>();
  // A release still on its way: this replica's next acquisition of the account waits for it.
  const releasing = new Map<string, Promise<void>>();
  const interval = `${leaseMs} milliseconds`;

  const renew = async () => {
    if (held.size === 0) return;
    const leases = [...held.values()];
    try {
      const { rows } = await pool.query<{ account_id: string }>(
        `UPDATE account_leases l SET expires_at = now() + $3::interval
         FROM unnest($1::text[], $2::bigint[]) AS h(account_id, token)
         WHERE l.account_id = h.account_id AND l.token = h.token AND l.owner = $4
         RETURNING l.account_id`,
        [leases.map((l) => l.accountId), leases.map((l) => l.token), interval, replica],
      );
      const renewed = new Set(rows.map((r) => r.account_id));
      for (const lease of leases) {
        if (renewed.has(lease.accountId) || held.get(lease.accountId) !== lease) continue;
        // Taken over by another replica: its runs' writes are refused from now on.
        held.delete(lease.accountId);
        logger?.error({ accountId: lease.accountId }, "account lease lost to another replica");
      }
    } catch (err) {
      logger?.warn({ err }, "account leases could not be renewed");
    }
  };
  const heartbeat = setInterval(() => void renew(), Math.max(100, Math.floor(leaseMs / 3)));
  heartbeat.unref();

  const release = (accountId: string): Promise<void> => {
    const lease = held.get(accountId);
    if (!lease) return releasing.get(accountId) ?? Promise.resolve();
    held.delete(accountId);
    const done = pool
      .query(
        `UPDATE account_leases SET owner = '', expires_at = '-infinity'
         WHERE account_id = $1 AND token = $2`,
        [accountId, lease.token],
      )
      .then(
        () => undefined,
        // It then expires on its own: the account is free within the lease time.
        (err: Error) => logger?.warn({ err, accountId }, "account lease could not be released"),
      )
      .finally(() => {
        if (releasing.get(accountId) === done) releasing.delete(accountId);
      });
    releasing.set(accountId, done);
    return done;
  };

  return {
    replica,
    brokerClient,
    held: () => [...held.values()].map(({ accountId, token }) => ({ accountId, token })),
    async acquire(accountId, purpose) {
      await releasing.get(accountId);
      // One statement: taken only when free or expired, the token raised in the same write.
      const { rows } = await pool.query<{ token: number; broker_client: number }>(
        `INSERT INTO account_leases AS l (account_id, owner, broker_client, token, expires_at)
         VALUES ($1, $2, $3, 1, now() + $4::interval)
         ON CONFLICT (account_id) DO UPDATE SET
           owner = excluded.owner,
           -- A run left running keeps the client of its orders, whoever takes the account.
           broker_client = CASE
             WHEN $5 OR EXISTS (SELECT 1 FROM runs r WHERE r.account_id = $1 AND r.status = $6)
             THEN l.broker_client ELSE excluded.broker_client END,
           token = l.token + 1,
           expires_at = excluded.expires_at
         WHERE l.expires_at < now()
         RETURNING l.token, l.broker_client`,
        [accountId, replica, brokerClient, interval, purpose === "resume", RunStatus.RUNNING],
      );
      if (!rows[0]) return undefined;
      const lease = { accountId, token: rows[0].token, brokerClient: rows[0].broker_client };
      held.set(accountId, lease);
      return lease;
    },
    async orphans() {
      const { rows } = await pool.query<{ run_id: string }>(
        `SELECT r.run_id FROM runs r LEFT JOIN account_leases l USING (account_id)
         WHERE r.status = $1 AND (l.account_id IS NULL OR l.expires_at < now())
         ORDER BY r.created_at`,
        [RunStatus.RUNNING],
      );
      return rows.map((r) => r.run_id);
    },
    async holds(accountId) {
      const lease = held.get(accountId);
      if (!lease) return false;
      const { rowCount } = await pool.query(
        `SELECT 1 FROM account_leases
         WHERE account_id = $1 AND token = $2 AND owner = $3 AND expires_at > now()`,
        [accountId, lease.token, replica],
      );
      return rowCount === 1;
    },
    release,
    async close() {
      clearInterval(heartbeat);
      await Promise.all([...held.keys()].map(release));
    },
  };
}
