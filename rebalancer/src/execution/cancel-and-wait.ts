import type { Broker, BrokerOrder } from "../broker/broker.js";
import { isTerminal, OrderTracker } from "./order-tracker.js";

/** How a cancel of working orders ended. */
export interface CancelOutcome {
  /** Orders the broker confirmed cancelled. */
  cancelled: BrokerOrder[];
  /** Orders still working when the time was up (empty on success). */
  remaining: BrokerOrder[];
}

/**
 * Cancels the working orders `read` returns and waits, on the broker's order events, until each
 * has ended (cancelled, or filled meanwhile) or `timeoutMs` is up. Events are followed from
 * before the read, so an order that ends between the read and the cancel is not waited for; when
 * the time is up, the broker is read once more, and an order it no longer lists has ended (its
 * event was missed). `read` may throw to refuse before anything is cancelled.
 */
export async function cancelAndWait(
  broker: Broker,
  read: () => Promise<BrokerOrder[]>,
  timeoutMs: number,
): Promise<CancelOutcome> {
  const ids = new Set<string>();
  const tracker = new OrderTracker(broker, (order) => ids.has(order.orderId));
  try {
    const open = await read();
    for (const order of open) {
      ids.add(order.orderId);
      tracker.placed(order);
    }
    if (open.length === 0) return { cancelled: [], remaining: [] };
    await Promise.all(open.map((o) => broker.cancelOrder(o.orderId)));
    const { done, orders } = await tracker.settle([...ids], timeoutMs);
    const listed = done ? undefined : new Set((await read()).map((o) => o.orderId));
    return {
      cancelled: orders.filter((o) => o.status === "cancelled"),
      remaining: orders.filter((o) => !isTerminal(o) && (listed?.has(o.orderId) ?? true)),
    };
  } finally {
    tracker.close();
  }
}
