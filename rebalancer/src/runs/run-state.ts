import type { AllocationTarget } from "../allocations/allocations.js";
import type { BrokerFill, BrokerOrder } from "../broker/broker.js";
import type { PreflightReport } from "../execution/preflight-report.js";
import type { RunOutcome } from "../execution/run-outcome.js";
import type { RunPhase } from "../execution/run-phase.js";
import type { RunResumption } from "../execution/run-resumption.js";
import type { ValuedHolding } from "../execution/valued-holding.js";
import type { Plan, Target } from "../planning/index.js";
import type { RunHeader } from "./run-header.js";

/** A run's plan as recorded: as planned, with the warnings and preflight since. */
export interface RunPlan extends Omit<Plan, "targets"> {
  /** The broker's answers; absent until checked, or when the run never asked. */
  preflight?: PreflightReport;
}

/** Where a run stands: the fold of its journal (see foldRun). */
export interface RunState {
  header: RunHeader;
  /** Sequence of the last event folded in. */
  sequence: number;
  /** The phase last started; absent before the first. */
  phase?: RunPhase;
  /** The phase last started other than `resuming`: where the run stood, for a resume. */
  stoodIn?: RunPhase;
  allocations?: {
    strategy: string;
    targets: Target[];
    asOf: string;
    /** The strategy's targets as published; absent in older journals. */
    published?: AllocationTarget[];
  };
  /** The account as read at the start of the run. */
  account?: { holdings: ValuedHolding[]; netLiquidation: number; cash: number };
  /** The cash the broker reported once the sells filled; absent before. */
  cashAfterSells?: number;
  /** The cash the broker reported once the run traded; absent before, or if it could not say. */
  cashAfterRun?: number;
  plan?: RunPlan;
  /** True once the plan is final (checked against hours and the broker). */
  planChecked: boolean;
  /** Each order the run placed, by broker order id, in placement order, at its latest state. */
  orders: Map<string, BrokerOrder>;
  /** Each execution once, in the order recorded. */
  fills: BrokerFill[];
  /** Execution ids of `fills`. */
  fillIds: Set<string>;
  /** Each resume of the run, oldest first, with when it was recorded. */
  resumptions: (RunResumption & { time: Date })[];
  /** Set while the run waits to be resumed after its process handed it over. */
  suspended?: { message: string; time: Date };
  outcome?: RunOutcome;
  finishedAt?: Date;
}
