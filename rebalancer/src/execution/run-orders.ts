import { create } from "@bufbuild/protobuf";
import {
  OrderFilledSchema,
  OrderSubmittedSchema,
  OrderUpdatedSchema,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Broker, BrokerOrder } from "../broker/broker.js";
import { fillMessage, orderMessage } from "./broker-messages.js";
import { OrderTracker } from "./order-tracker.js";
import type { Emit } from "./run-event.js";

/**
 * The orders of one run as the stream tells them: each order's submission comes before any of
 * its updates or fills, whether `placeOrder` resolves first or the broker's events do, and an
 * order only moves forward. Events are emitted synchronously in the order they are known, so the
 * recorder (which keeps call order) streams them causally.
 */
export class RunOrders {
  readonly tracker: OrderTracker;
  private readonly announced = new Set<string>();
  /** Where each order is in `run.orders`, so an update costs the same in a run of any size. */
  private readonly positions = new Map<string, number>();
  private last: Promise<void> = Promise.resolve();

  constructor(
    broker: Broker,
    private readonly run: Run,
    private readonly emit: Emit,
  ) {
    this.tracker = new OrderTracker(
      broker,
      (order) => order.runId === run.runId,
      (event) => {
        this.announce(event.order);
        const message = orderMessage(event.order);
        this.upsert(event.order);
        if (event.kind === "fill") {
          const fill = fillMessage(event.fill);
          run.fills.push(fill);
          this.record({ case: "orderFilled", value: create(OrderFilledSchema, { fill }) });
        } else {
          this.record({
            case: "orderUpdated",
            value: create(OrderUpdatedSchema, { order: message }),
          });
        }
      },
    );
  }

  /** Records an order `placeOrder` returned; its state may be older than events already seen. */
  placed(order: BrokerOrder): BrokerOrder {
    const latest = this.tracker.placed(order);
    this.announce(latest);
    return latest;
  }

  /** Resolves once every event so far is recorded; rejects when one could not be. */
  recorded(): Promise<void> {
    return this.last;
  }

  close(): void {
    this.tracker.close();
  }

  private announce(order: BrokerOrder): void {
    if (this.announced.has(order.orderId)) return;
    this.announced.add(order.orderId);
    this.upsert(order);
    const message = orderMessage(order);
    this.record({
      case: "orderSubmitted",
      value: create(OrderSubmittedSchema, { order: message }),
    });
  }

  private record(event: Parameters<Emit>[0]): void {
    const appended = this.emit(event);
    // The first failure is the one reported; later events fail the same way.
    this.last = this.last.then(() => appended);
    appended.catch(() => undefined);
  }

  /** Keeps the run's record of an order at its latest state. */
  private upsert(order: BrokerOrder): void {
    const message = orderMessage(order);
    const i = this.positions.get(order.orderId);
    if (i !== undefined) this.run.orders[i] = message;
    else this.positions.set(order.orderId, this.run.orders.push(message) - 1);
  }
}
