import { Code, ConnectError } from "@connectrpc/connect";
import { AccountRefusal, type AccountRefusalCode } from "../accounts/account-refusal.js";
import { AllocationError } from "../allocations/allocation-error.js";
import { BrokerError } from "../broker/broker-error.js";
import { PlanError } from "../planning/index.js";
import { RunRefusal, type RunRefusalCode } from "../runs/run-refusal.js";

const accountCodes: Record<AccountRefusalCode, Code> = {
  missing_account_id: Code.InvalidArgument,
  unknown_account: Code.NotFound,
  trading_mode: Code.PermissionDenied,
  disabled: Code.FailedPrecondition,
};

const runCodes: Record<RunRefusalCode, Code> = {
  shutting_down: Code.Unavailable,
  invalid_request: Code.InvalidArgument,
  busy: Code.Aborted,
  store_unavailable: Code.Unavailable,
  not_recorded: Code.Internal,
};

/**
 * The RPC error for an error raised below the service: the one place a typed refusal (account,
 * run, broker, allocations, plan) becomes a Connect code. Anything else is returned as it is.
 */
export function connectErrorOf(err: unknown): unknown {
  if (err instanceof AccountRefusal) return new ConnectError(err.message, accountCodes[err.code]);
  if (err instanceof RunRefusal) return new ConnectError(err.message, runCodes[err.code]);
  if (err instanceof BrokerError) {
    const code =
      err.code === "unavailable"
        ? Code.Unavailable
        : err.code === "unknown_account"
          ? Code.NotFound
          : Code.FailedPrecondition;
    return new ConnectError(`broker: ${err.message}`, code);
  }
  if (err instanceof AllocationError) {
    const code = err.code === "unavailable" ? Code.Unavailable : Code.FailedPrecondition;
    return new ConnectError(err.message, code);
  }
  if (err instanceof PlanError) return new ConnectError(err.message, Code.FailedPrecondition);
  return err;
}

/** Runs `work`, raising what it throws as connectErrorOf says. */
export async function asRpc<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw connectErrorOf(err);
  }
}
