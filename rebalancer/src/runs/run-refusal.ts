/**
 * Why a run was not started, or its stream stopped:
 * - `shutting_down`: the rebalancer is draining; retrying elsewhere or later works;
 * - `invalid_request`: the request is malformed (mode, idempotency key);
 * - `busy`: the account has another run in progress and the caller did not ask to wait;
 * - `store_unavailable`: the run could not be recorded, so it was not started;
 * - `not_recorded`: a running run's events could not be recorded, so it was stopped.
 */
export type RunRefusalCode =
  "shutting_down" | "invalid_request" | "busy" | "store_unavailable" | "not_recorded";

/** A run refused or stopped for a reason the caller can act on; service/ gives it an RPC code. */
export class RunRefusal extends Error {
  constructor(
    readonly code: RunRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = "RunRefusal";
  }
}
