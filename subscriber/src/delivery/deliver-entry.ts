import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Logger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  FailureReason,
  RunStatus,
  type Order,
  type RebalanceResponse,
  type RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { InboxEntry } from "../inbox/inbox.js";
import { idempotencyKey } from "./idempotency-key.js";

/** How one delivery ended, when the rebalancer answered. */
export type DeliveryOutcome =
  /** The run finished (or the print command answered). */
  | { kind: "done"; runId: string; result: string }
  /** The run placed nothing because a market is closed; run again at `at`. */
  | { kind: "postponed"; runId: string; at: number; result: string }
  /** The run itself failed; retrying the same key would only replay the failure. */
  | { kind: "failed"; runId: string; reason: string };

/**
 * Delivers one entry: the command's RPC, consuming the whole Rebalance stream and logging each
 * progress event through `logger`, which the caller bound to the entry (entry id, account,
 * idempotency key) once. RPC errors are thrown as they come (the caller classifies them); a stream that
 * ends without a final event (the rebalancer stopped, or handed the run over) throws UNAVAILABLE
 * so it is retried under the same key: the rebalancer resumes a run that stopped, and the retry
 * follows it to its outcome, a failure of its own only then dead-lettering the entry.
 */
export async function deliverEntry(
  client: Client<typeof RebalancerService>,
  entry: InboxEntry,
  signal: AbortSignal,
  logger: Logger,
): Promise<DeliveryOutcome> {
  const accountId = entry.accountId;
  switch (entry.command) {
    case "rebalance":
    case "dry-run":
      return rebalance(client, entry, signal, logger);
    case "print-positions": {
      const res = await client.getPositions({ accountId }, { signal });
      const lines = res.positions.map((p) => `${p.symbol} ${p.quantity} (${p.marketValue})`);
      return done(
        `${res.positions.length} positions, net liquidation ${res.netLiquidation}`,
        lines,
      );
    }
    case "print-equity": {
      const res = await client.getAccountValue({ accountId }, { signal });
      return done(
        `net liquidation ${res.netLiquidation} ${res.currency}, cash ${res.cash}, ` +
          `available ${res.availableFunds}`,
      );
    }
    case "print-orders": {
      const res = await client.listOpenOrders({ accountId }, { signal });
      return done(`${res.orders.length} open orders`, res.orders.map(describeOrder));
    }
    case "cancel-orders": {
      const res = await client.cancelOpenOrders({ accountId }, { signal });
      const summary = `cancelled ${res.cancelled.length}, still working ${res.remaining.length}`;
      if (res.remaining.length > 0) return { kind: "failed", runId: "", reason: summary };
      return done(summary);
    }
    default:
      // Rejected entries are never claimed; reaching this is a bug worth a clear dead letter.
      throw new ConnectError(`entry has no command to deliver`, Code.InvalidArgument);
  }
}

function done(summary: string, lines: string[] = []): DeliveryOutcome {
  return { kind: "done", runId: "", result: [summary, ...lines].join("\n") };
}

function describeOrder(order: Order): string {
  return `${order.orderId} ${order.symbol} ${order.quantity} filled ${order.filledQuantity}`;
}

async function rebalance(
  client: Client<typeof RebalancerService>,
  entry: InboxEntry,
  signal: AbortSignal,
  logger: Logger,
): Promise<DeliveryOutcome> {
  const key = idempotencyKey(entry);
  const mode = entry.command === "rebalance" ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN;
  const stream = client.rebalance(
    {
      accountId: entry.accountId,
      mode,
      idempotencyKey: key,
      trigger: { source: "subscriber", eventId: entry.eventKey, channel: entry.channel },
      // The subscriber already runs one entry per account at a time; wait for runs started
      // elsewhere (console, REST) instead of failing.
      waitIfBusy: true,
    },
    { signal },
  );
  let last: RebalanceResponse | undefined;
  for await (const res of stream) {
    const event = res.event;
    logger.info(
      { runId: res.runId, sequence: res.sequence, event: event.case, replayed: res.replayed },
      "run progress",
    );
    switch (event.case) {
      case "completed":
        return {
          kind: "done",
          runId: res.runId,
          result: `${RunStatus[event.value.status]}: ${event.value.message}`,
        };
      case "failed":
        return {
          kind: "failed",
          runId: res.runId,
          reason: `run ${res.runId} failed (${FailureReason[event.value.reason]}): ${event.value.message}`,
        };
      case "postponed": {
        const next = event.value.nextAttemptAt;
        return {
          kind: "postponed",
          runId: res.runId,
          // Without a time from the rebalancer, try again in an hour rather than spin.
          at: next ? timestampMs(next) : Date.now() + 3600_000,
          result: `postponed: ${event.value.message}`,
        };
      }
      default:
        break;
    }
    last = res;
  }
  if (last?.event.case === "suspended") {
    // The rebalancer stopped and handed the run over: the same key follows it once resumed.
    throw new ConnectError(
      `run ${last.runId} was handed over by a stopping rebalancer (${last.event.value.message}); ` +
        "retrying follows it once resumed",
      Code.Unavailable,
    );
  }
  throw new ConnectError("the Rebalance stream ended before the run finished", Code.Unavailable);
}
