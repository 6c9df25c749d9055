// One line of text per Rebalance progress event, for the live run view's event log.
import {
  ExecutionMode,
  FailureReason,
  OrderSide,
  OrderStatus,
  OrderType,
  Phase,
  ResumeCause,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Order, RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import {
  enumLabel,
  formatCount,
  formatMoney,
  formatPrice,
  formatQuantity,
  formatTime,
} from "./format.js";

/** What the log shows of an event: its kind (the oneof case) and a sentence. */
export interface RunEventText {
  kind: string;
  text: string;
}

function orderText(order: Order | undefined): string {
  if (order === undefined) return "unknown order";
  const side = enumLabel(OrderSide, order.side).toUpperCase();
  return `${side} ${formatQuantity(order.quantity)} ${order.symbol}`;
}

function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? "" : "s"}`;
}

/** Describes one event of a run. */
export function runEventText(response: RebalanceResponse): RunEventText {
  const { event } = response;
  switch (event.case) {
    case "accepted":
      return {
        kind: "accepted",
        text: `run ${response.runId} accepted for ${event.value.accountId}, ${enumLabel(ExecutionMode, event.value.mode)}`,
      };
    case "phase":
      return { kind: "phase", text: enumLabel(Phase, event.value.phase) };
    case "allocations": {
      const asOf = event.value.asOf ? ` as of ${event.value.asOf}` : "";
      return {
        kind: "allocations",
        text: `${plural(event.value.targets.length, "target")} of ${event.value.strategy}${asOf}`,
      };
    }
    case "plan": {
      const orders = event.value.plan?.orders ?? [];
      const sells = orders.filter((o) => o.side === OrderSide.SELL).length;
      return {
        kind: "plan",
        text:
          `${plural(sells, "sell")} and ${plural(orders.length - sells, "buy")} planned ` +
          `on ${formatMoney(event.value.netLiquidation)}, cash ${formatMoney(event.value.cash)}`,
      };
    }
    case "orderSubmitted": {
      const order = event.value.order;
      return {
        kind: "order submitted",
        text: `${orderText(order)} as ${enumLabel(OrderType, order?.orderType ?? 0)} order ${order?.orderId ?? ""}`,
      };
    }
    case "orderUpdated": {
      const order = event.value.order;
      const filled = order ? `, ${formatQuantity(order.filledQuantity)} filled` : "";
      const message = order?.message ? ` (${order.message})` : "";
      return {
        kind: "order updated",
        text: `${orderText(order)} ${enumLabel(OrderStatus, order?.status ?? 0)}${filled}${message}`,
      };
    }
    case "orderFilled": {
      const fill = event.value.fill;
      const text = fill
        ? `${enumLabel(OrderSide, fill.side).toUpperCase()} ${formatQuantity(fill.quantity)} ${fill.symbol} at ${formatPrice(fill.price)} (order ${fill.orderId})`
        : "fill";
      return { kind: "order filled", text };
    }
    case "completed":
      // The server's message starts with the status ("completed: 7 orders filled").
      return {
        kind: "completed",
        text: event.value.message || enumLabel(RunStatus, event.value.status),
      };
    case "failed":
      return {
        kind: "failed",
        text: `${enumLabel(FailureReason, event.value.reason)}: ${event.value.message}`,
      };
    case "postponed":
      return {
        kind: "postponed",
        text: `until ${formatTime(event.value.nextAttemptAt)}: ${event.value.message}`,
      };
    case "resumed":
      return {
        kind: "resumed",
        text: `${enumLabel(ResumeCause, event.value.cause)}: ${event.value.message}`,
      };
    case "suspended":
      return { kind: "suspended", text: event.value.message };
    default:
      return { kind: "unknown", text: "an event this console does not know" };
  }
}
