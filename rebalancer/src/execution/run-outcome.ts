import type { FailureCode } from "./failure-code.js";

/** How a run ended. */
export type RunOutcome =
  | {
      /** Every order filled as planned (or, for a dry run, the plan was made). */
      status: "completed";
      message: string;
    }
  | {
      /** Done, but not exactly as planned: partial fills, buys re-planned against the cash. */
      status: "completed_with_adjustments";
      message: string;
    }
  | {
      status: "failed";
      reason: FailureCode;
      /** What stopped the run, for humans; what the stream's final event says. */
      message: string;
      /**
       * What the record's message adds, e.g. that the broker could not be asked for the orders'
       * final state; "" when nothing.
       */
      recordNote: string;
    }
  | {
      /** Nothing placed: a market is closed. */
      status: "postponed";
      message: string;
      /** When every market the plan trades is open again; absent when unknown. */
      nextAttemptAt?: Date;
    };
