import { fileURLToPath } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DatabaseUrl } from "@mesh/platform/database-url";
import type { Logger } from "@mesh/platform/logger";
import { migrate, readMigrations } from "@mesh/platform/postgres-migrations";
import { createPostgresPool } from "@mesh/platform/postgres-pool";
import type pg from "pg";
import { RunSchema, RunStatus, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { foldRun } from "./fold-run.js";
import { decodeJournalEvent, encodeJournalEvent } from "./journal-codec.js";
import { rebalanceResponses } from "./rebalance-responses.js";
import type { RecordedEvent } from "./recorded-event.js";
import { LeaseLost, type RunFence } from "./run-fence.js";
import { runMessage } from "./run-message.js";
import type { RunStore } from "./run-store.js";

/** Options of openPostgresRunStore. */
export interface PostgresRunStoreOptions {
  /** Writes of a run only while this replica holds its account's lease; default unfenced. */
  fence?: RunFence;
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /** Told of lost connections; default none. */
  logger?: Logger;
  /** How often the database is probed for the health report, ms; default 5000. */
  probeIntervalMs?: number;
}

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
 * Joined into every journal insert: a transaction lock taken before the row's position is drawn
 * from its sequence and held until the statement commits, so positions commit one after another
 * and become readable in order (a watch past position n never misses a smaller one committed
 * later). Journal writes of all replicas take turns on it: a round trip each.
 */
const journalLock = "(SELECT pg_advisory_xact_lock(hashtext('rebalancer:run_journal'))) AS turn";

const migrations = readMigrations(
  fileURLToPath(new URL("./postgres-migrations/", import.meta.url)),
);

/** Creates or updates the run store's tables (and the account leases') behind `pool`. */
export async function migrateRunStore(pool: pg.Pool): Promise<number[]> {
  return migrate(pool, "rebalancer", migrations);
}

/**
 * The shared run store: the same tables as SQLite's on PostgreSQL, for replicas. Idempotency is
 * the UNIQUE (account, key) constraint met by `ON CONFLICT DO NOTHING`, never a read then a
 * write; with a fence, every write of a run is one statement that also checks the lease.
 */
export async function openPostgresRunStore(
  databaseUrl: DatabaseUrl,
  options: PostgresRunStoreOptions = {},
): Promise<RunStore & { pool: pg.Pool }> {
  const pool = createPostgresPool(databaseUrl.url, {
    max: options.poolSize ?? 10,
    logger: options.logger,
    applicationName: "rebalancer",
  });
  try {
    await migrateRunStore(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const { fence } = options;
  /** The held accounts and tokens, as the two arrays `fenced` unnests. */
  const fenceParams = () => {
    if (!fence) return [];
    const held = fence.held();
    return [held.map((h) => h.accountId), held.map((h) => h.token)];
  };
  // The run's account is held by this replica with the lease's current token.
  const fenced = (account: string, n: number) =>
    fence
      ? `EXISTS (SELECT 1 FROM account_leases l
           JOIN unnest($${n}::text[], $${n + 1}::bigint[]) AS h(account_id, token)
             ON h.account_id = l.account_id AND h.token = l.token
           WHERE l.account_id = ${account})`
      : "true";

  const columns = "run_id, status, record";
  const recordedOf = (row: JournalRow): RecordedEvent => ({
    runId: row.run_id,
    sequence: row.sequence,
    time: new Date(row.time),
    event: decodeJournalEvent(row.event),
  });
  const events = async (runId: string): Promise<RecordedEvent[]> => {
    const { rows } = await pool.query<JournalRow>(
      "SELECT * FROM run_journal WHERE run_id = $1 ORDER BY sequence",
      [runId],
    );
    return rows.map(recordedOf);
  };
  // A run that ended has its final record; a running one is the fold of its journal.
  const recordOf = async (row: RunRow): Promise<Run> => {
    if (row.status === RunStatus.RUNNING) {
      const journal = await events(row.run_id);
      if (journal.length > 0) return runMessage(foldRun(journal));
    }
    return fromBinary(RunSchema, row.record);
  };

  let lastError = "";
  // Health is asked synchronously: the database is probed in the background, so a server that
  // went away shows even while no run writes.
  let unreachable = "";
  const probe = setInterval(() => {
    pool.query("SELECT 1").then(
      () => (unreachable = ""),
      (err: Error) => (unreachable = err.message),
    );
  }, options.probeIntervalMs ?? 5000);
  probe.unref();
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      const value = await work();
      lastError = "";
      return value;
    } catch (err) {
      if (!(err instanceof LeaseLost)) lastError = (err as Error).message;
      throw err;
    }
  };

  return {
    pool,
    begin: (accepted) =>
      guarded(async () => {
        if (accepted.event.kind !== "accepted") throw new Error("a run begins with its acceptance");
        const { header } = accepted.event;
        const run = runMessage(foldRun([accepted]));
        // One statement: the run and its first journal row, or nothing when the key is taken.
        const inserted = await pool.query(
          `WITH run AS (
             INSERT INTO runs (run_id, account_id, idempotency_key, status, created_at, record)
             SELECT $1, $2, $3, $4, $5, $6 WHERE ${fenced("$2", 9)}
             ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING run_id)
           INSERT INTO run_journal (run_id, sequence, time, event)
           SELECT run_id, 1, $7, $8 FROM run, ${journalLock}`,
          [
            header.runId,
            header.accountId,
            header.idempotencyKey,
            run.status,
            header.createdAt.getTime(),
            Buffer.from(toBinary(RunSchema, run)),
            accepted.time.getTime(),
            encodeJournalEvent(accepted.event),
            ...fenceParams(),
          ],
        );
        if (inserted.rowCount === 1) return { run, created: true };
        const { rows } = await pool.query<RunRow>(
          `SELECT ${columns} FROM runs WHERE account_id = $1 AND idempotency_key = $2`,
          [header.accountId, header.idempotencyKey],
        );
        if (!rows[0]) throw new LeaseLost(header.runId);
        return { run: await recordOf(rows[0]), created: false };
      }),
    appendEvent: (event) =>
      guarded(async () => {
        const { rowCount } = await pool.query(
          `INSERT INTO run_journal (run_id, sequence, time, event)
           SELECT run_id, $2, $3, $4 FROM runs r, ${journalLock}
           WHERE r.run_id = $1 AND ${fenced("r.account_id", 5)}`,
          [
            event.runId,
            event.sequence,
            event.time.getTime(),
            encodeJournalEvent(event.event),
            ...fenceParams(),
          ],
        );
        if (rowCount !== 1) throw new LeaseLost(event.runId);
      }),
    finish: (run) =>
      guarded(async () => {
        const { rowCount } = await pool.query(
          `UPDATE runs r SET status = $2, record = $3 WHERE r.run_id = $1 AND ${fenced("r.account_id", 4)}`,
          [run.runId, run.status, Buffer.from(toBinary(RunSchema, run)), ...fenceParams()],
        );
        if (rowCount !== 1) throw new LeaseLost(run.runId);
      }),
    events: (runId) => guarded(() => events(runId)),
    // The watches' reads leave the health's last write failure as it is.
    eventsAfter: async (position, limit) => {
      const { rows } = await pool.query<JournalRow & { position: number }>(
        "SELECT * FROM run_journal WHERE position > $1 ORDER BY position LIMIT $2",
        [position, limit],
      );
      return rows.map((row) => ({ position: row.position, recorded: recordedOf(row) }));
    },
    lastPosition: async () => {
      const { rows } = await pool.query<{ position: number }>(
        "SELECT coalesce(max(position), 0)::bigint AS position FROM run_journal",
      );
      return rows[0]!.position;
    },
    responses: (runId) => guarded(async () => rebalanceResponses(await events(runId))),
    get: (runId) =>
      guarded(async () => {
        const { rows } = await pool.query<RunRow>(`SELECT ${columns} FROM runs WHERE run_id = $1`, [
          runId,
        ]);
        return rows[0] ? recordOf(rows[0]) : undefined;
      }),
    list: (accountId, limit, before) =>
      guarded(async () => {
        // Older than a given run: (created_at, recorded) orders runs of one ms as recorded.
        const { rows } = await pool.query<RunRow>(
          before === undefined
            ? `SELECT ${columns} FROM runs WHERE account_id = $1
               ORDER BY created_at DESC, recorded DESC LIMIT $2`
            : `SELECT ${columns} FROM runs WHERE account_id = $1
                 AND (created_at, recorded) < (SELECT created_at, recorded FROM runs WHERE run_id = $3)
               ORDER BY created_at DESC, recorded DESC LIMIT $2`,
          before === undefined ? [accountId, limit] : [accountId, limit, before],
        );
        return Promise.all(rows.map(recordOf));
      }),
    running: () =>
      guarded(async () => {
        const { rows } = await pool.query<RunRow>(
          `SELECT ${columns} FROM runs WHERE status = $1 ORDER BY created_at`,
          [RunStatus.RUNNING],
        );
        return Promise.all(rows.map(recordOf));
      }),
    find: (accountId, idempotencyKey) =>
      guarded(async () => {
        const { rows } = await pool.query<RunRow>(
          `SELECT ${columns} FROM runs WHERE account_id = $1 AND idempotency_key = $2`,
          [accountId, idempotencyKey],
        );
        return rows[0] ? recordOf(rows[0]) : undefined;
      }),
    health() {
      if (unreachable) return { ok: false, detail: `database unreachable: ${unreachable}` };
      if (lastError) return { ok: false, detail: `last database call failed: ${lastError}` };
      return { ok: true, detail: `postgres ${databaseUrl.shown}` };
    },
    close: () => {
      clearInterval(probe);
      return pool.end();
    },
  };
}
