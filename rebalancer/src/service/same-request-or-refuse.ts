import { Code, ConnectError } from "@connectrpc/connect";
import {
  ExecutionMode,
  type RebalanceRequest,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";

/** Metadata naming the run a reused idempotency key belongs to. */
export const idempotencyConflictHeader = "idempotency-key-run-id";

/**
 * The events of a run, unless they are a replay for a request that asks for something else
 * than the run its key belongs to: like a payment API, a reused idempotency key with different
 * parameters (mode, account, triggering event) is refused with failed_precondition naming the
 * run, never answered as if it matched.
 */
export async function* sameRequestOrRefuse(
  request: RebalanceRequest,
  events: AsyncIterable<RebalanceResponse>,
  runOf: (runId: string) => Promise<Run | undefined>,
): AsyncGenerator<RebalanceResponse> {
  let first = true;
  for await (const event of events) {
    if (first && event.replayed) {
      const run = await runOf(event.runId);
      const differs = run === undefined ? undefined : difference(request, run);
      if (differs !== undefined) {
        throw new ConnectError(
          `idempotency_key belongs to run ${event.runId}, which has another ${differs}; use a new key`,
          Code.FailedPrecondition,
          // Names the run in a header/trailer too, for programs; REST answers it with 409.
          { [idempotencyConflictHeader]: event.runId },
        );
      }
    }
    first = false;
    yield event;
  }
}

/** The first parameter in which the request differs from the run, if any. */
function difference(request: RebalanceRequest, run: Run): string | undefined {
  const mode = request.mode === ExecutionMode.LIVE ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN;
  if (run.mode !== mode) return "mode";
  if (run.accountId !== request.accountId) return "account";
  const eventId = request.trigger?.eventId ?? "";
  if (eventId !== "" && (run.trigger?.eventId ?? "") !== "" && run.trigger?.eventId !== eventId) {
    return "triggering event";
  }
  return undefined;
}
