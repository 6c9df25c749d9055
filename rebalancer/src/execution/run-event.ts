// What a run tells as it goes, in its own terms (no Protobuf): the recorder in runs/ keeps these
// as the run's journal, folds them into its record and turns them into the contract's stream.
// A journal holds enough to know where a run stood: its plan, each order placed (broker id and
// the run id as order reference), each fill, the phase it was in, and how it ended; a run that
// stopped is resumed from it (see RunProgress and continueRun).
import type { BrokerFill, BrokerOrder } from "../broker/broker.js";
import type { AllocationTarget } from "../allocations/allocations.js";
import type { Plan, PlannedOrder, Target } from "../planning/index.js";
import type { PreflightReport } from "./preflight-report.js";
import type { RunOutcome } from "./run-outcome.js";
import type { RunPhase } from "./run-phase.js";
import type { RunResumption } from "./run-resumption.js";
import type { ValuedHolding } from "./valued-holding.js";

/** One thing that happened in a run. */
export type RunEvent =
  | { kind: "phaseStarted"; phase: RunPhase }
  | {
      kind: "allocationsFetched";
      strategy: string;
      /** The account's targets: the strategy's after the account's replacement set. */
      targets: Target[];
      /** The source's as-of date; "" when not given. */
      asOf: string;
      /**
       * The strategy's targets as published, before the replacement set: what a resumed run
       * re-plans its buys with. Absent in journals written before runs could resume.
       */
      published?: AllocationTarget[];
    }
  | {
      /**
       * The account as read for planning: at the start (the record's holdings, net liquidation
       * and cash) and again after the sells (the record keeps only its cash, as cash after sells).
       */
      kind: "accountRead";
      moment: "start" | "after sells";
      holdings: ValuedHolding[];
      netLiquidation: number;
      cash: number;
    }
  /** The account's cash once a live run traded, when the broker could say. */
  | { kind: "cashAfterRun"; cash: number }
  | { kind: "planMade"; plan: Plan }
  /** Something the plan's reader should know that did not stop the run. */
  | { kind: "warning"; message: string }
  | {
      /** The plan is final: checked against market hours and (unless skipped) the broker. */
      kind: "planChecked";
      /** The broker's answers; absent when the run did not get as far as asking. */
      preflight?: PreflightReport;
      /** The buys after the preflight scaled them to the funds; absent when unchanged. */
      buys?: PlannedOrder[];
    }
  | {
      /** First word of an order at the broker; it carries the run id as order reference. */
      kind: "orderPlaced";
      order: BrokerOrder;
    }
  | { kind: "orderChanged"; order: BrokerOrder }
  | {
      /** An execution, once per execution id, with the order's state after it. */
      kind: "fill";
      fill: BrokerFill;
      order: BrokerOrder;
    }
  /** The run was taken up again after it stopped; what was found, what it does next. */
  | { kind: "resumed"; resumption: RunResumption }
  | { kind: "outcome"; outcome: RunOutcome };

/** Records an event of the run; resolves once it is recorded. Calls are recorded in order. */
export type RecordRunEvent = (event: RunEvent) => Promise<void>;
