import { Phase } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunPhase } from "../execution/run-phase.js";

const phases: Record<RunPhase, Phase> = {
  fetching_allocations: Phase.FETCHING_ALLOCATIONS,
  reading_account: Phase.READING_ACCOUNT,
  planning: Phase.PLANNING,
  checking_hours: Phase.CHECKING_HOURS,
  preflight: Phase.PREFLIGHT,
  cancelling_open_orders: Phase.CANCELLING_OPEN_ORDERS,
  selling: Phase.SELLING,
  refreshing_cash: Phase.REFRESHING_CASH,
  buying: Phase.BUYING,
  resuming: Phase.RESUMING,
};

/** The contract's Phase of a run's step. */
export function phaseMessage(phase: RunPhase): Phase {
  return phases[phase];
}
