// The seed's REST answer to POST /rebalance/{account_id}[/dry-run]: one JSON object with the run's
// outcome, folded from the Rebalance event stream so that the seed's HTTP clients keep working.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ExecutionMode, OrderSide, RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type {
  Order,
  PlannedOrder,
  RebalanceRequest,
  RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { roundMoney } from "../planning/money.js";

/** One order in the seed's shape. */
export interface RebalanceResultOrder {
  symbol: string;
  /** Whole shares ordered (planned, for a dry run). */
  quantity: number;
  action: "BUY" | "SELL";
  /** Value filled (quantity filled x average price) or, before any fill, the planned value. */
  market_value: number;
}

/** The seed's rebalance answer, plus the run id to look the run up with GET /runs/{run_id}. */
export interface RebalanceResult {
  account_id: string;
  /** "dry_run" or "live": the mode the run actually had. */
  execution_mode: "dry_run" | "live";
  /** Planned orders for a dry run, placed orders for a live one. */
  orders: RebalanceResultOrder[];
  /** "completed", "completed_with_adjustments", "failed" or "postponed". */
  status: string;
  message: string;
  /** ISO 8601 time of the final event. */
  timestamp: string;
  run_id: string;
}

/**
 * Folds a run's events into the seed's answer. Throws an internal error when the stream ended
 * without its final event (completed, failed or postponed).
 */
export async function rebalanceResult(
  request: RebalanceRequest,
  events: AsyncIterable<RebalanceResponse>,
): Promise<RebalanceResult> {
  let accountId = request.accountId;
  let mode = request.mode;
  let runId = "";
  let planned: PlannedOrder[] = [];
  let final: RebalanceResponse | undefined;
  for await (const response of events) {
    runId = response.runId || runId;
    const event = response.event;
    switch (event.case) {
      case "accepted":
        accountId = event.value.accountId || accountId;
        mode = event.value.mode;
        break;
      case "plan":
        planned = event.value.plan?.orders ?? [];
        break;
      case "completed":
      case "failed":
      case "postponed":
        final = response;
        break;
    }
  }
  if (final === undefined) {
    throw new ConnectError(
      `run ${runId || "(no id)"} ended its event stream before a final event`,
      Code.Internal,
    );
  }
  const live = mode === ExecutionMode.LIVE;
  const event = final.event;
  let status = "postponed";
  let message = "";
  let placed: Order[] = [];
  switch (event.case) {
    case "completed":
      status = runStatusName(event.value.status);
      ({ message, orders: placed } = event.value);
      break;
    case "failed":
      status = "failed";
      ({ message, orders: placed } = event.value);
      break;
    case "postponed":
      message = event.value.message;
      break;
  }
  return {
    account_id: accountId,
    execution_mode: live ? "live" : "dry_run",
    orders: live ? placed.map((order) => placedOrder(order, planned)) : planned.map(plannedOrder),
    status,
    message,
    timestamp: (final.time ? timestampDate(final.time) : new Date()).toISOString(),
    run_id: runId,
  };
}

function plannedOrder(order: PlannedOrder): RebalanceResultOrder {
  return {
    symbol: order.symbol,
    quantity: order.quantity,
    action: action(order.side, order.symbol),
    market_value: order.marketValue,
  };
}

function placedOrder(order: Order, planned: readonly PlannedOrder[]): RebalanceResultOrder {
  const plan = planned.find((p) => p.symbol === order.symbol && p.side === order.side);
  const value =
    order.filledQuantity > 0
      ? roundMoney(order.filledQuantity * order.averageFillPrice)
      : (plan?.marketValue ?? 0);
  return {
    symbol: order.symbol,
    quantity: order.quantity,
    action: action(order.side, order.symbol),
    market_value: value,
  };
}

function action(side: OrderSide, symbol: string): "BUY" | "SELL" {
  switch (side) {
    case OrderSide.BUY:
      return "BUY";
    case OrderSide.SELL:
      return "SELL";
    default:
      throw new ConnectError(`the order for ${symbol} has no side`, Code.Internal);
  }
}

function runStatusName(status: RunStatus): string {
  return (RunStatus[status] ?? "UNSPECIFIED").toLowerCase();
}
