import type { Broker, BrokerOrder } from "../broker/broker.js";
import { isTerminal, OrderTracker } from "./order-tracker.js";
import type { RunContext } from "./run-context.js";
import type { RunEvent } from "./run-event.js";
import type { RunProgress } from "./run-progress.js";

/** The fields the run's record keeps of an order: a repeat of all of them tells nothing new. */
const recordedFields = [
  "orderId",
  "accountId",
  "runId",
  "symbol",
  "side",
  "quantity",
  "orderType",
  "limitPrice",
  "timeInForce",
  "status",
  "filledQuantity",
  "averageFillPrice",
  "message",
] as const satisfies readonly (keyof BrokerOrder)[];

function sameOrder(a: BrokerOrder, b: BrokerOrder): boolean {
  return recordedFields.every((field) => a[field] === b[field]);
}

/**
 * The orders of one run as it records them: each order's `orderPlaced` comes before any of its
 * changes or fills, whether `placeOrder` resolves first or the broker's events do, and an order
 * only moves forward. Events are recorded synchronously in the order they are known, so the
 * recorder (which keeps call order) tells them causally. Fills count once per execution id, and
 * `reconcile` applies the broker's own view before a final record.
 */
export class RunOrders {
  readonly tracker: OrderTracker;
  /** The order as last recorded by `orderPlaced` or `orderChanged`, by order id. */
  private readonly told = new Map<string, BrokerOrder>();
  /** Execution ids already recorded. */
  private readonly fillIds = new Set<string>();
  private last: Promise<void> = Promise.resolve();
  /** True once an order was sent: from then on the broker may hold some of the run's orders. */
  private trading = false;
  /** True once closed: the run has ended, nothing more is recorded of its orders. */
  private closed = false;
  private readonly broker: Broker;

  /**
   * Subscribes to the broker's events for the run's orders at once. `recorded` seeds what the
   * run's journal already holds (a resumed run), so that none of it is recorded twice.
   */
  constructor(
    private readonly ctx: RunContext,
    recorded?: Pick<RunProgress, "orders" | "fillIds">,
  ) {
    this.broker = ctx.deps.broker;
    this.tracker = new OrderTracker(
      this.broker,
      (order) => order.runId === ctx.runId,
      (event) => {
        this.announce(event.order);
        if (event.kind === "fill") {
          if (this.fillIds.has(event.fill.executionId)) return;
          this.fillIds.add(event.fill.executionId);
          this.record({ kind: "fill", fill: event.fill, order: event.order });
        } else {
          // A repeat of what was last told about the order tells nothing new.
          const said = this.told.get(event.order.orderId);
          if (said && sameOrder(said, event.order)) return;
          this.told.set(event.order.orderId, event.order);
          this.record({ kind: "orderChanged", order: event.order });
        }
      },
    );
    for (const order of recorded?.orders ?? []) {
      this.told.set(order.orderId, order);
      this.tracker.placed(order);
    }
    for (const id of recorded?.fillIds ?? []) this.fillIds.add(id);
    // A resumed live run may have orders at the broker its journal never heard of.
    if (recorded && ctx.live) this.trading = true;
  }

  /** How many orders the run has placed (as far as it knows). */
  get size(): number {
    return this.told.size;
  }

  /** The run's orders at their latest state, in the order they became known. */
  list(): BrokerOrder[] {
    return [...this.told.keys()].map((id) => this.tracker.get(id)!);
  }

  /** Execution ids recorded so far (for counting what a reconcile recovered). */
  get fillCount(): number {
    return this.fillIds.size;
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
      const ids = [...this.told.keys()];
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
    const { account, runId, startedAt } = this.ctx;
    const activity = await this.broker.runActivity(account.accountId, runId, startedAt);
    // A read that outlived the run (a settle cut short by a handover) tells it nothing more.
    if (this.closed) return;
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
    this.closed = true;
    this.tracker.close();
  }

  private announce(order: BrokerOrder): void {
    if (this.told.has(order.orderId)) return;
    this.told.set(order.orderId, order);
    this.record({ kind: "orderPlaced", order });
  }

  private record(event: RunEvent): void {
    const recorded = this.ctx.record(event);
    // The first failure is the one reported; later events fail the same way.
    this.last = this.last.then(() => recorded);
    // Reported to whoever awaits `recorded()`; not an unhandled rejection meanwhile.
    this.last.catch(() => undefined);
    recorded.catch(() => undefined);
  }
}
