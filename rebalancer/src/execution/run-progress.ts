import type { AllocationTarget } from "../allocations/allocations.js";
import type { BrokerOrder } from "../broker/broker.js";
import type { PlannedOrder, Target } from "../planning/index.js";
import type { PreflightReport } from "./preflight-report.js";
import type { RunPhase } from "./run-phase.js";

/**
 * Where a run stands, as its journal tells it (runs/ folds it): what a run that stopped is
 * resumed from. Plain data; a run that has placed an order has a checked plan.
 */
export interface RunProgress {
  /** The phase the run was in, a resume aside; absent before the first. */
  phase?: RunPhase;
  /** The allocations as fetched; absent before. `published` is absent in older journals. */
  allocations?: {
    strategy: string;
    targets: Target[];
    asOf: string;
    published?: AllocationTarget[];
  };
  /** The plan once checked (hours, preflight): what the run trades. Absent before. */
  plan?: {
    sells: PlannedOrder[];
    buys: PlannedOrder[];
    /** The broker's answers when the preflight ran: they cap the buys re-planned after the sells. */
    preflight?: PreflightReport;
  };
  /** Each order of the run as recorded, at its latest state. */
  orders: BrokerOrder[];
  /** Execution ids of the recorded fills. */
  fillIds: string[];
}
