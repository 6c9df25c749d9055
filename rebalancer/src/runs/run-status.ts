import { RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunOutcome } from "../execution/run-outcome.js";

const statuses: Record<RunOutcome["status"], RunStatus> = {
  completed: RunStatus.COMPLETED,
  completed_with_adjustments: RunStatus.COMPLETED_WITH_ADJUSTMENTS,
  failed: RunStatus.FAILED,
  postponed: RunStatus.POSTPONED,
};

/** The contract's status of a run that ended as `outcome`, or is still running (undefined). */
export function runStatus(outcome: RunOutcome | undefined): RunStatus {
  return outcome ? statuses[outcome.status] : RunStatus.RUNNING;
}
