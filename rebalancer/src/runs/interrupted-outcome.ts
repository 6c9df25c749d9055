import type { RunOutcome } from "../execution/run-outcome.js";

/** How a run ends that was running when its process stopped. */
export const interruptedOutcome = {
  status: "failed",
  reason: "interrupted",
  message:
    "interrupted: the rebalancer stopped during this run; its orders carry the run id " +
    "as order reference, check ListOpenOrders before running again",
  recordNote: "",
} as const satisfies RunOutcome;
