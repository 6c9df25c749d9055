import { create, equals } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  OrderFilledSchema,
  OrderSchema,
  OrderSubmittedSchema,
  OrderUpdatedSchema,
  type Order,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Broker, BrokerOrder } from "../broker/broker.js";
import { fillMessage, orderMessage } from "./broker-messages.js";
import { isTerminal, OrderTracker } from "./order-tracker.js";
import type { Emit } from "./run-event.js";

/**
 * The orders of one run as the stream tells them: each order's submission comes before any of
 * its updates or fills, whether `placeOrder` resolves first or the broker's events do, and an
 * order only moves forward. Events are emitted synchronously in the order they are known, so the
 * recorder (which keeps call order) streams them causally. Fills count once per execution id,
 * and `reconcile` applies the broker's own view before a final record.
 */
export class RunOrders {
  readonly tracker: OrderTracker;
  private readonly announced = new Set<string>();
  /** Where each order is in `run.orders`, so an update costs the same in a run of any size. */
  private readonly positions = new Map<string, number>();
  /** The order as the stream last told it (submitted or updated), by order id. */
  private readonly streamed = new Map<string, Order>();
  /** Execution ids already in the record. */
  private readonly fillIds = new Set<string>();
  private last: Promise<void> = Promise.resolve();
  /** True once an order was sent: from then on the broker may hold some of the run's orders. */
  private trading = false;

  constructor(
    private readonly broker: Broker,
    private readonly run: Run,
    private readonly emit: Emit,
  ) {
    this.tracker = new OrderTracker(
      broker,
      (order) => order.runId === run.runId,
      (event) => {
        this.announce(event.order);
        if (event.kind === "fill") {
          this.upsert(event.order);
          if (this.fillIds.has(event.fill.executionId)) return;
          this.fillIds.add(event.fill.executionId);
          const fill = fillMessage(event.fill);
          run.fills.push(fill);
          this.record({ case: "orderFilled", value: create(OrderFilledSchema, { fill }) });
        } else {
          this.upsert(event.order);
          const message = orderMessage(event.order);
          // A repeat of what the stream last said about the order tells nothing new.
          const said = this.streamed.get(event.order.orderId);
          if (said && equals(OrderSchema, said, message)) return;
          this.streamed.set(event.order.orderId, message);
          this.record({
            case: "orderUpdated",
            value: create(OrderUpdatedSchema, { order: message }),
          });
        }
      },
    );
  }

  /** Called before each order is sent. */
  placing(): void {
    this.trading = true;
  }

  /**
   * Reads the run's orders and executions from the broker and applies what the record lacks
   * (orders it never heard of, missed fills, newer states), then waits until that is recorded.
   * Orders still working at the broker go on filling: with `settleMs`, they get that long to end
   * (their events keep arriving) and the broker is read once more, so the final record says how
   * they ended. Resolves with why the broker could not be read, or undefined once the record
   * equals it.
   */
  async reconcile(settleMs = 0): Promise<string | undefined> {
    if (!this.trading) return undefined;
    try {
      await this.applyActivity();
      const ids = [...this.positions.keys()];
      if (settleMs > 0 && !ids.every((id) => isTerminal(this.tracker.get(id)!))) {
        await this.tracker.settle(ids, settleMs);
        await this.applyActivity();
      }
    } catch (err) {
      await this.recorded();
      return (err as Error).message;
    }
    await this.recorded();
    return undefined;
  }

  private async applyActivity(): Promise<void> {
    const since = this.run.createdAt ? timestampDate(this.run.createdAt) : new Date(0);
    const activity = await this.broker.runActivity(this.run.accountId, this.run.runId, since);
    const byId = new Map(activity.orders.map((o) => [o.orderId, o]));
    for (const fill of activity.fills) {
      const order = byId.get(fill.orderId);
      if (order) this.tracker.apply({ kind: "fill", fill, order });
    }
    for (const order of activity.orders) this.tracker.apply({ kind: "status", order });
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
    this.streamed.set(order.orderId, message);
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
