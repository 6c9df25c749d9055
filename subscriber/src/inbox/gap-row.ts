import type { Gap, GapCause, GapCounts, GapState } from "./gap-store.js";

/** A gap row as both stores keep it: the same columns in SQLite and PostgreSQL. */
export interface GapRow {
  id: number;
  channel: string;
  from_at: number;
  to_at: number;
  cause: GapCause;
  state: GapState;
  anchor_at: number | null;
  opened_at: number;
  closed_at: number | null;
  failures: number;
  last_error: string;
  last_attempt_at: number | null;
  recovered: number;
  reason: string;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
}

/** Every column of GapRow, in table order: what a copy between the stores moves. */
export const gapColumns = [
  "id",
  "channel",
  "from_at",
  "to_at",
  "cause",
  "state",
  "anchor_at",
  "opened_at",
  "closed_at",
  "failures",
  "last_error",
  "last_attempt_at",
  "recovered",
  "reason",
  "acknowledged_at",
  "acknowledged_by",
] as const satisfies readonly (keyof GapRow)[];

/** The gap a row holds; absent times are left out rather than null. */
export function toGap(row: GapRow): Gap {
  return {
    id: row.id,
    channel: row.channel,
    from: row.from_at,
    to: row.to_at,
    cause: row.cause,
    state: row.state,
    ...(row.anchor_at === null ? {} : { anchorAt: row.anchor_at }),
    openedAt: row.opened_at,
    ...(row.closed_at === null ? {} : { closedAt: row.closed_at }),
    failures: row.failures,
    lastError: row.last_error,
    ...(row.last_attempt_at === null ? {} : { lastAttemptAt: row.last_attempt_at }),
    recovered: row.recovered,
    reason: row.reason,
    ...(row.acknowledged_at === null ? {} : { acknowledgedAt: row.acknowledged_at }),
    ...(row.acknowledged_by === null ? {} : { acknowledgedBy: row.acknowledged_by }),
  };
}

/** Gap counts from `state, n, unacknowledged` rows of a GROUP BY, every state present. */
export function countGaps(
  rows: { state: GapState; n: number; unacknowledged: number | null }[],
): GapCounts {
  const counts: GapCounts = { open: 0, covered: 0, unrecoverable: 0, unacknowledged: 0 };
  for (const row of rows) {
    counts[row.state] = row.n;
    if (row.state === "unrecoverable") counts.unacknowledged = row.unacknowledged ?? 0;
  }
  return counts;
}
