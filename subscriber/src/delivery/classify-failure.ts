import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Codes that a retry cannot fix: the request itself is wrong or refused (bad account, refused
 * live guard, no permission). Everything else, including unauthenticated (a key fixed and
 * restarted should still deliver), is treated as transient until the entry's max age.
 */
const permanentCodes = new Set<Code>([
  Code.InvalidArgument,
  Code.NotFound,
  Code.PermissionDenied,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.Unimplemented,
]);

/** True when an error from the rebalancer must dead-letter the entry at once. */
export function isPermanentFailure(err: unknown): boolean {
  return err instanceof ConnectError && permanentCodes.has(err.code);
}

/** A short description of an error for the inbox and the logs. */
export function describeFailure(err: unknown): string {
  if (err instanceof ConnectError) return `${Code[err.code]}: ${err.rawMessage}`;
  return err instanceof Error ? err.message : String(err);
}
