import type { BrokerOrder } from "../broker/broker.js";
import type { PlannedOrder } from "../planning/index.js";

/**
 * The planned orders whose symbol and side the run has no order for yet: a resumed run goes on
 * with these only, so a re-plan never doubles an order. A fresh run has none, and keeps them all.
 */
export function notYetOrdered(
  planned: readonly PlannedOrder[],
  orders: readonly BrokerOrder[],
): PlannedOrder[] {
  const ordered = new Set(orders.map((o) => `${o.side} ${o.symbol}`));
  return planned.filter((p) => !ordered.has(`${p.side} ${p.symbol}`));
}
