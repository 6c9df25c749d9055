import { AllocationError } from "../allocations/allocation-error.js";
import { BrokerError } from "../broker/broker-error.js";
import { PlanError, type PlanErrorCode } from "../planning/index.js";
import type { BrokerErrorCode } from "../broker/broker-error.js";
import type { FailureCode } from "./failure-code.js";

const planFailures: Record<PlanErrorCode, FailureCode> = {
  invalid_targets: "invalid_allocations",
  missing_price: "missing_price",
  risk_limit: "risk_limit",
  invalid_input: "internal",
};

const brokerFailures: Record<BrokerErrorCode, FailureCode> = {
  unavailable: "broker_unavailable",
  no_such_symbol: "invalid_allocations",
  no_market_data: "missing_price",
  order_rejected: "order_rejected",
  unknown_account: "internal",
  internal: "internal",
};

/** Why a run stopped: a machine-readable reason and a message a human can act on. */
export class RunFailure extends Error {
  constructor(
    readonly reason: FailureCode,
    message: string,
  ) {
    super(message);
    this.name = "RunFailure";
  }

  /** Classifies any error thrown during a run. */
  static from(err: unknown): RunFailure {
    if (err instanceof RunFailure) return err;
    if (err instanceof PlanError) {
      return new RunFailure(planFailures[err.code], `cannot plan: ${err.message}`);
    }
    if (err instanceof AllocationError) {
      const reason = err.code === "unavailable" ? "allocations_unavailable" : "invalid_allocations";
      return new RunFailure(reason, err.message);
    }
    if (err instanceof BrokerError) {
      return new RunFailure(brokerFailures[err.code], `broker: ${err.message}`);
    }
    return new RunFailure("internal", `internal error: ${(err as Error).message}`);
  }
}
