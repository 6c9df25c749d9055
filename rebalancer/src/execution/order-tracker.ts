import type { Broker, BrokerOrder, OrderEvent } from "../broker/broker.js";

const terminal = new Set(["filled", "cancelled", "rejected"]);

/** True when an order can change no more. */
export function isTerminal(order: BrokerOrder): boolean {
  return terminal.has(order.status);
}

/**
 * True when `incoming` is not behind `known`: brokers can report an order's states out of order
 * (TWS sends a status and an execution in separate messages), and an order only moves forward.
 */
export function isNotBehind(known: BrokerOrder, incoming: BrokerOrder): boolean {
  if (incoming.filledQuantity < known.filledQuantity) return false;
  return !isTerminal(known) || isTerminal(incoming);
}

/** The terms of an order, fixed when it is placed: as first known, the quantity never less. */
function terms(known: BrokerOrder, incoming: BrokerOrder): Partial<BrokerOrder> {
  const { orderType, limitPrice, timeInForce } = known;
  return {
    quantity: Math.max(known.quantity, incoming.quantity),
    orderType,
    limitPrice,
    timeInForce,
  };
}

/**
 * Follows a set of orders (e.g. those of one run, matched by run id): keeps the latest state of
 * each, forwards their events in arrival order, and waits until some of them are done. Matching
 * by a predicate rather than by order id keeps the events that arrive before `placeOrder`
 * resolves. A status event behind the known state is dropped; a fill event always passes (the
 * execution happened) but carries the order's latest state.
 */
export class OrderTracker {
  private readonly latest = new Map<string, BrokerOrder>();
  /** Woken with the id of each order that changed. */
  private readonly waiters = new Set<(orderId: string) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    broker: Broker,
    private readonly follows: (order: BrokerOrder) => boolean,
    private readonly onEvent: (event: OrderEvent) => void = () => undefined,
  ) {
    this.unsubscribe = broker.onOrderEvent((event) => this.apply(event));
  }

  /** Takes an event as if the broker had sent it (e.g. from a fresh read of the broker). */
  apply(event: OrderEvent): void {
    if (!this.follows(event.order)) return;
    const known = this.latest.get(event.order.orderId);
    if (known && !isNotBehind(known, event.order)) {
      if (event.kind !== "fill") return;
      event = { ...event, order: known };
    } else if (known) {
      // What an order is never changes; a broker asked again after a restart may no longer
      // say all of it (IB tells a finished order only by its executions, what they add up to).
      event = { ...event, order: { ...event.order, ...terms(known, event.order) } };
    }
    this.latest.set(event.order.orderId, event.order);
    this.onEvent(event);
    for (const wake of this.waiters) wake(event.order.orderId);
  }

  /** Records an order as known (placed, or read from the broker), unless an event brought a newer state. */
  placed(order: BrokerOrder): BrokerOrder {
    const known = this.latest.get(order.orderId);
    if (known) return known;
    this.latest.set(order.orderId, order);
    return order;
  }

  get(orderId: string): BrokerOrder | undefined {
    return this.latest.get(orderId);
  }

  /** Resolves with the orders' latest states once all are terminal, or when the time is up. */
  async settle(
    orderIds: string[],
    timeoutMs: number,
  ): Promise<{ done: boolean; orders: BrokerOrder[] }> {
    const current = () => orderIds.map((id) => this.latest.get(id)!);
    // Only the orders not yet done are looked at again, so each event costs the same however
    // many orders the phase has.
    const pending = new Set(orderIds.filter((id) => !isTerminal(this.latest.get(id)!)));
    if (pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, timeoutMs);
        const wake = (orderId: string) => {
          if (pending.has(orderId) && isTerminal(this.latest.get(orderId)!))
            pending.delete(orderId);
          if (pending.size === 0) finish();
        };
        const waiters = this.waiters;
        function finish() {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        }
        waiters.add(wake);
      });
    }
    return { done: pending.size === 0, orders: current() };
  }

  close(): void {
    this.unsubscribe();
  }
}
