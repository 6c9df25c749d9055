import type pg from "pg";
import type { GapState, GapStore, NewGap } from "./gap-store.js";
import { countGaps, toGap, type GapRow } from "./gap-row.js";
import { inTransaction } from "./postgres-pool.js";

/** Options of createPostgresGapStore. */
export interface PostgresGapStoreOptions {
  /** Covered gaps are deleted this long after they closed, ms; default 7 days. */
  coveredKeepMs?: number;
}

type Query = Pick<pg.PoolClient, "query">;

const insert = `
  INSERT INTO realtime_gaps (channel, from_at, to_at, cause, state, anchor_at, opened_at,
    closed_at, reason)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  RETURNING *`;
const insertValues = (
  gap: NewGap,
  record: { state: GapState; closedAt: number | null; reason: string },
) => [
  gap.channel,
  gap.from,
  gap.to,
  gap.cause,
  record.state,
  gap.anchorAt ?? null,
  gap.openedAt,
  record.closedAt,
  record.reason,
];
/** Marks only move forward, whichever replica moves them and in whatever order. */
const raiseMark = `
  INSERT INTO realtime_marks (channel, covered_until) VALUES ($1, $2)
  ON CONFLICT (channel) DO UPDATE
  SET covered_until = GREATEST(realtime_marks.covered_until, excluded.covered_until)`;

/**
 * The gap store in the inbox's PostgreSQL database, shared by the replicas: each replica records
 * the gaps of its own connection, and any of them may recover or give up any open gap, so
 * closing one is conditional on it still being open and losses of a channel are decided one
 * replica at a time.
 */
export function createPostgresGapStore(
  pool: pg.Pool,
  options: PostgresGapStoreOptions = {},
): GapStore {
  const coveredKeepMs = options.coveredKeepMs ?? 7 * 86_400_000;
  const rows = async (sql: string, values: unknown[] = [], on: Query = pool) =>
    (await on.query<GapRow>(sql, values)).rows;
  const byId = async (id: number, on: Query = pool) =>
    (await rows("SELECT * FROM realtime_gaps WHERE id = $1", [id], on))[0];

  return {
    open: (gap) =>
      inTransaction(pool, async (client) => {
        await client.query("DELETE FROM realtime_gaps WHERE state = 'covered' AND closed_at < $1", [
          gap.openedAt - coveredKeepMs,
        ]);
        const [row] = await rows(
          insert,
          insertValues(gap, { state: "open", closedAt: null, reason: "" }),
          client,
        );
        await client.query(raiseMark, [gap.channel, gap.to]);
        return toGap(row!);
      }),
    mark: async (channel) => {
      const { rows: marks } = await pool.query<{ covered_until: number }>(
        "SELECT covered_until FROM realtime_marks WHERE channel = $1",
        [channel],
      );
      return marks[0]?.covered_until;
    },
    advanceMark: async (channel, at) => {
      await pool.query(raiseMark, [channel, at]);
    },
    listOpen: async (channel) =>
      (channel === undefined
        ? await rows("SELECT * FROM realtime_gaps WHERE state = 'open' ORDER BY from_at, id")
        : await rows(
            "SELECT * FROM realtime_gaps WHERE state = 'open' AND channel = $1 ORDER BY from_at, id",
            [channel],
          )
      ).map(toGap),
    list: async (filter = {}) => {
      const limit = filter.limit ?? 100;
      return (
        filter.state
          ? await rows("SELECT * FROM realtime_gaps WHERE state = $1 ORDER BY id DESC LIMIT $2", [
              filter.state,
              limit,
            ])
          : await rows("SELECT * FROM realtime_gaps ORDER BY id DESC LIMIT $1", [limit])
      ).map(toGap);
    },
    get: async (id) => {
      const row = await byId(id);
      return row ? toGap(row) : undefined;
    },
    failed: async (id, failure) => {
      await pool.query(
        `UPDATE realtime_gaps SET failures = failures + 1, last_error = $1, last_attempt_at = $2
         WHERE id = $3 AND state = 'open'`,
        [failure.error, failure.at, id],
      );
    },
    cover: async (id, outcome) => {
      const { rowCount } = await pool.query(
        `UPDATE realtime_gaps SET state = 'covered', recovered = recovered + $2, closed_at = $3,
           last_attempt_at = $3
         WHERE id = $1 AND state = 'open'`,
        [id, outcome.recovered, outcome.at],
      );
      return rowCount === 1;
    },
    giveUp: (id, loss) =>
      inTransaction(pool, async (client) => {
        const [row] = await rows(
          "SELECT * FROM realtime_gaps WHERE id = $1 FOR UPDATE",
          [id],
          client,
        );
        if (!row || row.state !== "open") throw new Error(`gap ${id} is not open`);
        // One record per outage: replicas giving up gaps of one channel take turns.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
          `subscriber gaps ${row.channel}`,
        ]);
        const whole = loss.until >= row.to_at;
        const end = whole ? row.to_at : loss.until;
        const [previous] = await rows(
          `SELECT * FROM realtime_gaps WHERE state = 'unrecoverable' AND acknowledged_at IS NULL
             AND channel = $1 AND from_at <= $3 AND to_at >= $2 ORDER BY id DESC LIMIT 1`,
          [row.channel, row.from_at, end],
          client,
        );
        const shortenOrRemove = (open: boolean) =>
          open
            ? client.query("UPDATE realtime_gaps SET from_at = $1 WHERE id = $2", [end, id])
            : client.query("DELETE FROM realtime_gaps WHERE id = $1", [id]);
        if (previous) {
          await client.query(
            `UPDATE realtime_gaps SET from_at = LEAST(from_at, $2), to_at = GREATEST(to_at, $3),
               closed_at = $4 WHERE id = $1`,
            [previous.id, row.from_at, end, loss.at],
          );
          await shortenOrRemove(!whole);
          return { record: toGap((await byId(previous.id, client))!), extended: true };
        }
        if (whole) {
          const [lost] = await rows(
            `UPDATE realtime_gaps SET state = 'unrecoverable', reason = $1, closed_at = $2
             WHERE id = $3 RETURNING *`,
            [loss.reason, loss.at, id],
            client,
          );
          return { record: toGap(lost!), extended: false };
        }
        const [record] = await rows(
          insert,
          insertValues(
            {
              channel: row.channel,
              from: row.from_at,
              to: end,
              cause: row.cause,
              openedAt: row.opened_at,
            },
            { state: "unrecoverable", closedAt: loss.at, reason: loss.reason },
          ),
          client,
        );
        await shortenOrRemove(true);
        return { record: toGap(record!), extended: false };
      }),
    unacknowledged: async () =>
      (
        await rows(
          `SELECT * FROM realtime_gaps WHERE state = 'unrecoverable' AND acknowledged_at IS NULL
           ORDER BY id`,
        )
      ).map(toGap),
    acknowledge: async (id, by) => {
      const { rowCount } = await pool.query(
        `UPDATE realtime_gaps SET acknowledged_at = $1, acknowledged_by = $2
         WHERE id = $3 AND state = 'unrecoverable' AND acknowledged_at IS NULL`,
        [by.at, by.who, id],
      );
      return rowCount === 1;
    },
    counts: async () =>
      countGaps(
        (
          await pool.query<{ state: GapState; n: number; unacknowledged: number }>(
            `SELECT state, COUNT(*) AS n, COUNT(*) FILTER (WHERE acknowledged_at IS NULL)
               AS unacknowledged
             FROM realtime_gaps GROUP BY state`,
          )
        ).rows,
      ),
  };
}
