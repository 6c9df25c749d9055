import { FailureReason } from "@mesh/proto/rebalancer/v1/rebalancer";
import { AllocationError } from "../allocations/allocation-error.js";
import { BrokerError } from "../broker/broker-error.js";
import { PlanError } from "../planning/plan-error.js";

/** Why a run stopped: a machine-readable reason and a message a human can act on. */
export class RunFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = "RunFailure";
  }

  /** Classifies any error thrown during a run. */
  static from(err: unknown): RunFailure {
    if (err instanceof RunFailure) return err;
    if (err instanceof PlanError) {
      const reason = {
        invalid_targets: FailureReason.INVALID_ALLOCATIONS,
        missing_price: FailureReason.MISSING_PRICE,
        risk_limit: FailureReason.RISK_LIMIT,
        invalid_input: FailureReason.INTERNAL,
      }[err.code];
      return new RunFailure(reason, `cannot plan: ${err.message}`);
    }
    if (err instanceof AllocationError) {
      const reason =
        err.code === "unavailable"
          ? FailureReason.ALLOCATIONS_UNAVAILABLE
          : FailureReason.INVALID_ALLOCATIONS;
      return new RunFailure(reason, err.message);
    }
    if (err instanceof BrokerError) {
      const reason = {
        unavailable: FailureReason.BROKER_UNAVAILABLE,
        no_such_symbol: FailureReason.INVALID_ALLOCATIONS,
        no_market_data: FailureReason.MISSING_PRICE,
        order_rejected: FailureReason.ORDER_REJECTED,
        unknown_account: FailureReason.INTERNAL,
        internal: FailureReason.INTERNAL,
      }[err.code];
      return new RunFailure(reason, `broker: ${err.message}`);
    }
    return new RunFailure(FailureReason.INTERNAL, `internal error: ${(err as Error).message}`);
  }
}
