import { create } from "@bufbuild/protobuf";
import { RunSchema, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { runCounts } from "./run-counts.js";

/**
 * A run as ListRuns summarises it: who, what, when, how it ended, its cash figures and counts,
 * its resumptions (without their orders) and suspension; without its targets, holdings, plan,
 * orders and fills (GetRun has the full record).
 */
export function runSummary(run: Run): Run {
  return create(RunSchema, {
    runId: run.runId,
    accountId: run.accountId,
    mode: run.mode,
    trigger: run.trigger,
    idempotencyKey: run.idempotencyKey,
    status: run.status,
    failureReason: run.failureReason,
    message: run.message,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    netLiquidation: run.netLiquidation,
    cash: run.cash,
    cashAfterSells: run.cashAfterSells,
    cashAfterRun: run.cashAfterRun,
    nextAttemptAt: run.nextAttemptAt,
    counts: runCounts(run),
    resumptions: run.resumptions.map((r) => ({ ...r, orders: [] })),
    suspended: run.suspended,
  });
}
