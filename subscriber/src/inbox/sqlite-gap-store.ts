import type { Database } from "better-sqlite3";
import type { GapState, GapStore } from "./gap-store.js";
import { countGaps, toGap, type GapRow as Row } from "./gap-row.js";

const schema = `
CREATE TABLE IF NOT EXISTS realtime_gaps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel TEXT NOT NULL,
  from_at INTEGER NOT NULL,
  to_at INTEGER NOT NULL,
  cause TEXT NOT NULL,
  state TEXT NOT NULL,
  anchor_at INTEGER,
  opened_at INTEGER NOT NULL,
  closed_at INTEGER,
  failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  last_attempt_at INTEGER,
  recovered INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  acknowledged_at INTEGER,
  acknowledged_by TEXT
);
CREATE INDEX IF NOT EXISTS realtime_gaps_state ON realtime_gaps (state, channel, from_at);
CREATE TABLE IF NOT EXISTS realtime_marks (
  channel TEXT PRIMARY KEY,
  covered_until INTEGER NOT NULL
);
`;

/** Options of createSqliteGapStore. */
export interface SqliteGapStoreOptions {
  /** Covered gaps are deleted this long after they closed, ms; default 7 days. */
  coveredKeepMs?: number;
}

/**
 * The gap store in the inbox's SQLite database (tables realtime_gaps and realtime_marks), so a
 * gap and the messages recovered for it live and die with the same file.
 */
export function createSqliteGapStore(db: Database, options: SqliteGapStoreOptions = {}): GapStore {
  const coveredKeepMs = options.coveredKeepMs ?? 7 * 86_400_000;
  db.exec(schema);

  const insert = db.prepare<
    [
      {
        channel: string;
        from: number;
        to: number;
        cause: string;
        state: GapState;
        anchorAt: number | null;
        openedAt: number;
        closedAt: number | null;
        reason: string;
      },
    ],
    Row
  >(`
    INSERT INTO realtime_gaps (channel, from_at, to_at, cause, state, anchor_at, opened_at,
      closed_at, reason)
    VALUES (@channel, @from, @to, @cause, @state, @anchorAt, @openedAt, @closedAt, @reason)
    RETURNING *`);
  const raiseMark = db.prepare<[string, number]>(`
    INSERT INTO realtime_marks (channel, covered_until) VALUES (?, ?)
    ON CONFLICT (channel) DO UPDATE SET covered_until = MAX(covered_until, excluded.covered_until)`);
  const readMark = db.prepare<[string], { covered_until: number }>(
    "SELECT covered_until FROM realtime_marks WHERE channel = ?",
  );
  const pruneCovered = db.prepare<[number]>(
    "DELETE FROM realtime_gaps WHERE state = 'covered' AND closed_at < ?",
  );
  const byId = db.prepare<[number], Row>("SELECT * FROM realtime_gaps WHERE id = ?");
  const openAll = db.prepare<[], Row>(
    "SELECT * FROM realtime_gaps WHERE state = 'open' ORDER BY from_at, id",
  );
  const openOf = db.prepare<[string], Row>(
    "SELECT * FROM realtime_gaps WHERE state = 'open' AND channel = ? ORDER BY from_at, id",
  );
  const listAll = db.prepare<[number], Row>("SELECT * FROM realtime_gaps ORDER BY id DESC LIMIT ?");
  const listIn = db.prepare<[string, number], Row>(
    "SELECT * FROM realtime_gaps WHERE state = ? ORDER BY id DESC LIMIT ?",
  );
  const markFailed = db.prepare<[string, number, number]>(`
    UPDATE realtime_gaps SET failures = failures + 1, last_error = ?, last_attempt_at = ?
    WHERE id = ? AND state = 'open'`);
  const markCovered = db.prepare<[{ id: number; recovered: number; at: number }]>(`
    UPDATE realtime_gaps SET state = 'covered', recovered = recovered + @recovered,
      closed_at = @at, last_attempt_at = @at
    WHERE id = @id AND state = 'open'`);
  const touchingLoss = db.prepare<[{ channel: string; from: number; to: number }], Row>(`
    SELECT * FROM realtime_gaps WHERE state = 'unrecoverable' AND acknowledged_at IS NULL
      AND channel = @channel AND from_at <= @to AND to_at >= @from ORDER BY id DESC LIMIT 1`);
  const extendLoss = db.prepare<[{ id: number; from: number; to: number; at: number }]>(`
    UPDATE realtime_gaps SET from_at = MIN(from_at, @from), to_at = MAX(to_at, @to),
      closed_at = @at WHERE id = @id`);
  const shorten = db.prepare<[number, number]>("UPDATE realtime_gaps SET from_at = ? WHERE id = ?");
  const lose = db.prepare<[string, number, number]>(`
    UPDATE realtime_gaps SET state = 'unrecoverable', reason = ?, closed_at = ?
    WHERE id = ?`);
  const remove = db.prepare<[number]>("DELETE FROM realtime_gaps WHERE id = ?");
  const unacknowledged = db.prepare<[], Row>(`
    SELECT * FROM realtime_gaps WHERE state = 'unrecoverable' AND acknowledged_at IS NULL
    ORDER BY id`);
  const markAcknowledged = db.prepare<[number, string, number]>(`
    UPDATE realtime_gaps SET acknowledged_at = ?, acknowledged_by = ?
    WHERE id = ? AND state = 'unrecoverable' AND acknowledged_at IS NULL`);
  const stateCounts = db.prepare<[], { state: GapState; n: number; unacknowledged: number }>(`
    SELECT state, COUNT(*) AS n, SUM(acknowledged_at IS NULL) AS unacknowledged
    FROM realtime_gaps GROUP BY state`);

  const open = db.transaction((gap: Parameters<GapStore["open"]>[0]) => {
    pruneCovered.run(gap.openedAt - coveredKeepMs);
    const row = insert.get({
      ...gap,
      state: "open",
      anchorAt: gap.anchorAt ?? null,
      closedAt: null,
      reason: "",
    })!;
    raiseMark.run(gap.channel, gap.to);
    return toGap(row);
  });

  const giveUp = db.transaction(
    (id: number, loss: { until: number; reason: string; at: number }) => {
      const row = byId.get(id);
      if (!row || row.state !== "open") throw new Error(`gap ${id} is not open`);
      const whole = loss.until >= row.to_at;
      const end = whole ? row.to_at : loss.until;
      const previous = touchingLoss.get({ channel: row.channel, from: row.from_at, to: end });
      if (previous) {
        extendLoss.run({ id: previous.id, from: row.from_at, to: end, at: loss.at });
        if (whole) remove.run(id);
        else shorten.run(end, id);
        return { record: toGap(byId.get(previous.id)!), extended: true };
      }
      if (whole) {
        lose.run(loss.reason, loss.at, id);
        return { record: toGap(byId.get(id)!), extended: false };
      }
      const record = insert.get({
        channel: row.channel,
        from: row.from_at,
        to: end,
        cause: row.cause,
        state: "unrecoverable",
        anchorAt: null,
        openedAt: row.opened_at,
        closedAt: loss.at,
        reason: loss.reason,
      })!;
      shorten.run(end, id);
      return { record: toGap(record), extended: false };
    },
  );

  return {
    open: async (gap) => open(gap),
    mark: async (channel) => readMark.get(channel)?.covered_until,
    advanceMark: async (channel, at) => {
      raiseMark.run(channel, at);
    },
    listOpen: async (channel) =>
      (channel === undefined ? openAll.all() : openOf.all(channel)).map(toGap),
    list: async (filter = {}) => {
      const limit = filter.limit ?? 100;
      return (filter.state ? listIn.all(filter.state, limit) : listAll.all(limit)).map(toGap);
    },
    get: async (id) => {
      const row = byId.get(id);
      return row ? toGap(row) : undefined;
    },
    failed: async (id, failure) => {
      markFailed.run(failure.error, failure.at, id);
    },
    cover: async (id, outcome) => markCovered.run({ id, ...outcome }).changes === 1,
    giveUp: async (id, loss) => giveUp(id, loss),
    unacknowledged: async () => unacknowledged.all().map(toGap),
    acknowledge: async (id, by) => markAcknowledged.run(by.at, by.who, id).changes === 1,
    counts: async () => countGaps(stateCounts.all()),
  };
}
