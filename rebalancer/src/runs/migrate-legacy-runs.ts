import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type Database from "better-sqlite3";
import {
  RebalanceResponseSchema,
  RunFailedSchema,
  RunSchema,
  RunStatus,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { failureReason } from "./failure-reason.js";
import { interruptedOutcome } from "./interrupted-outcome.js";

/**
 * Files written before runs had journals kept each event as the contract's RebalanceResponse
 * (table run_events). Their runs still read (their record is final) and replay from there; a run
 * such a version left running is marked interrupted here, as its process is gone. Returns how to
 * read a run's old events, or undefined for a file without any.
 */
export function migrateLegacyRuns(
  db: Database.Database,
): ((runId: string) => RebalanceResponse[]) | undefined {
  const exists = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_events'`)
    .get();
  if (!exists) return undefined;
  const eventsOf = db.prepare(`SELECT event FROM run_events WHERE run_id = ? ORDER BY sequence`);
  const left = db
    .prepare(
      `SELECT run_id, record FROM runs WHERE status = ?
       AND NOT EXISTS (SELECT 1 FROM run_journal j WHERE j.run_id = runs.run_id)`,
    )
    .all(RunStatus.RUNNING) as { run_id: string; record: Buffer }[];
  const lastSequence = db.prepare(
    `SELECT coalesce(max(sequence), 0) AS n FROM run_events WHERE run_id = ?`,
  );
  const update = db.prepare(`UPDATE runs SET status = ?, record = ? WHERE run_id = ?`);
  const addEvent = db.prepare(`INSERT INTO run_events (run_id, sequence, event) VALUES (?, ?, ?)`);
  db.transaction(() => {
    for (const row of left) {
      const run = fromBinary(RunSchema, row.record);
      run.status = RunStatus.FAILED;
      run.failureReason = failureReason(interruptedOutcome.reason);
      run.message = interruptedOutcome.message;
      run.finishedAt = timestampNow();
      const failed = create(RebalanceResponseSchema, {
        runId: run.runId,
        sequence: (lastSequence.get(run.runId) as { n: number }).n + 1,
        time: run.finishedAt,
        event: {
          case: "failed",
          value: create(RunFailedSchema, {
            reason: run.failureReason,
            message: run.message,
            orders: run.orders,
          }),
        },
      });
      addEvent.run(run.runId, failed.sequence, toBinary(RebalanceResponseSchema, failed));
      update.run(run.status, toBinary(RunSchema, run), run.runId);
    }
  })();
  return (runId) => eventsOf.all(runId).map(decodeOld);
}

function decodeOld(row: unknown): RebalanceResponse {
  return fromBinary(RebalanceResponseSchema, (row as { event: Buffer }).event);
}
