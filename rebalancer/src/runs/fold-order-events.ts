import {
  OrderStatus,
  type Order,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";

const final = new Set([OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED]);

/** True when `incoming` does not take an order back (less filled, or out of a final status). */
function isNotBehind(known: Order, incoming: Order): boolean {
  if (incoming.filledQuantity < known.filledQuantity) return false;
  return !final.has(known.status) || final.has(incoming.status);
}

/**
 * Folds order events into a run's record: the record is saved at phase boundaries, the order
 * events in between only appended, so the record as it stands is the saved one plus these.
 * Idempotent: an event already in the record changes nothing.
 */
export function foldOrderEvents(run: Run, events: readonly RebalanceResponse[]): Run {
  for (const { event } of events) {
    if (event.case === "orderSubmitted" || event.case === "orderUpdated") {
      const order = event.value.order;
      if (!order) continue;
      const i = run.orders.findIndex((o) => o.orderId === order.orderId);
      if (i < 0) run.orders.push(order);
      else if (isNotBehind(run.orders[i]!, order)) run.orders[i] = order;
    } else if (event.case === "orderFilled") {
      const fill = event.value.fill;
      if (fill && !run.fills.some((f) => f.executionId === fill.executionId)) run.fills.push(fill);
    }
  }
  return run;
}

const orderCases = new Set(["orderSubmitted", "orderUpdated", "orderFilled"]);

/** True for the events that only move orders: many per run, so never a whole-record write. */
export function isOrderEvent(event: RebalanceResponse): boolean {
  return orderCases.has(event.event.case ?? "");
}
