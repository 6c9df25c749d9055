import { OrderStatus, type RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";

/** Where the stream shows an order out of causal order or moving backwards; empty when none. */
export function orderStreamProblems(events: RebalanceResponse[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, { filled: number; terminal: boolean }>();
  const terminal = new Set([OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED]);
  for (const { sequence, event } of events) {
    if (event.case === "orderSubmitted") {
      const id = event.value.order!.orderId;
      if (seen.has(id)) problems.push(`#${sequence}: order ${id} submitted after its updates`);
      seen.set(id, { filled: event.value.order!.filledQuantity, terminal: false });
    } else if (event.case === "orderUpdated" || event.case === "orderFilled") {
      const id =
        event.case === "orderUpdated" ? event.value.order!.orderId : event.value.fill!.orderId;
      const known = seen.get(id);
      if (!known) {
        problems.push(`#${sequence}: ${event.case} of order ${id} before its submission`);
        seen.set(id, { filled: 0, terminal: false });
        continue;
      }
      if (event.case !== "orderUpdated") continue;
      const order = event.value.order!;
      if (order.filledQuantity < known.filled) {
        problems.push(
          `#${sequence}: order ${id} filled ${known.filled} then ${order.filledQuantity}`,
        );
      }
      if (known.terminal && !terminal.has(order.status)) {
        problems.push(
          `#${sequence}: order ${id} left a final status for ${OrderStatus[order.status]}`,
        );
      }
      known.filled = Math.max(known.filled, order.filledQuantity);
      known.terminal ||= terminal.has(order.status);
    }
  }
  return problems;
}
