import { Code, ConnectError } from "@connectrpc/connect";
import { idempotencyConflictHeader } from "../service/same-request-or-refuse.js";

/** An RPC error as a REST answer. */
export interface RestError {
  /** HTTP status. */
  status: number;
  /** JSON body: the Connect code name, e.g. "not_found", and a message for humans. */
  body: { code: string; message: string };
}

// The statuses of the gRPC/HTTP mapping (google.rpc.Code), with two choices: failed_precondition
// is 412 so that it stays apart from aborted's 409 (busy account), and canceled is 499.
const statuses: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 412,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/**
 * The REST answer for an error. Errors other than ConnectErrors are internal and their text
 * stays in the logs, never in the answer.
 */
export function restError(error: unknown): RestError {
  if (!(error instanceof ConnectError)) {
    return { status: 500, body: { code: "internal", message: "internal error" } };
  }
  // A reused idempotency key is a conflict with an existing run, as payment APIs answer it.
  const conflict = error.metadata.has(idempotencyConflictHeader);
  return {
    status: conflict ? 409 : (statuses[error.code] ?? 500),
    body: { code: codeName(error.code), message: error.rawMessage },
  };
}

/** Connect's name for a code: Code.InvalidArgument is "invalid_argument". */
function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}
