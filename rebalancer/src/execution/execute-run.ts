import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Account } from "@mesh/platform/accounts";
import { context, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import {
  AllocationsFetchedSchema,
  FailureReason,
  OrderFilledSchema,
  OrderSubmittedSchema,
  OrderUpdatedSchema,
  PhaseChangedSchema,
  PlanReadySchema,
  RunCompletedSchema,
  RunFailedSchema,
  RunPostponedSchema,
  Phase,
  PlanSchema,
  PlannedOrderSchema,
  ProjectedWeightSchema,
  RunStatus,
  TargetSchema,
  type Plan as PlanMessage,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Allocations } from "../allocations/allocations.js";
import type { Broker, BrokerOrder, OrderRequest } from "../broker/broker.js";
import {
  applyReplacements,
  plan,
  planBuys,
  roundMoney,
  type Plan,
  type PlanInput,
  type PlannedOrder,
} from "../planning/index.js";
import { fillMessage, orderMessage, positionMessages, sideMessage } from "./broker-messages.js";
import type { RunMetrics } from "../run-metrics.js";
import { OrderTracker } from "./order-tracker.js";
import { RunFailure } from "./run-failure.js";
import { whileConnected } from "./while-connected.js";

const tracer = trace.getTracer("rebalancer");

/** Runs `work` in an active span that records a thrown error. */
async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T> | T,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The oneof of a progress event, without its envelope (run id, sequence, time). */
export type RunEvent = RebalanceResponse["event"];

/** What a run needs besides the account. */
export interface ExecutionDeps {
  broker: Broker;
  allocations: { targets(account: Account): Promise<Allocations> };
  now: () => Date;
  /** How long to wait for the account's open orders to be cancelled; default 60 s. */
  cancelTimeoutMs?: number;
  /** How long to wait for a phase's orders to fill; default 5 minutes. */
  fillTimeoutMs?: number;
  /** Counts orders by side and outcome; default counts nothing. */
  metrics?: RunMetrics;
}

/**
 * Runs one rebalance: reads, plans and (when `live`) cancels open orders, sells, waits for the
 * fills, re-reads cash, buys and waits. Every step is emitted as it happens; `run` is filled in
 * as the audit record. Never throws: failures end the run with a `failed` event.
 */
export async function executeRun(
  deps: ExecutionDeps,
  account: Account,
  run: Run,
  live: boolean,
  emit: (event: RunEvent) => Promise<void>,
): Promise<void> {
  const attributes = { "run.id": run.runId, "account.id": account.accountId, "run.live": live };
  await inSpan("rebalance.run", attributes, async () => {
    await runPhases(deps, account, run, live, emit);
    const span = trace.getActiveSpan();
    span?.setAttribute("run.status", RunStatus[run.status]);
    if (run.status === RunStatus.FAILED) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: run.message });
    }
  });
}

async function runPhases(
  deps: ExecutionDeps,
  account: Account,
  run: Run,
  live: boolean,
  emit: (event: RunEvent) => Promise<void>,
): Promise<void> {
  // Each phase is announced on the stream and is a span, parent of the broker calls made in it.
  const inPhase = async <T>(p: Phase, work: () => Promise<T> | T): Promise<T> => {
    await emit({ case: "phase", value: create(PhaseChangedSchema, { phase: p }) });
    return inSpan(`phase ${Phase[p].toLowerCase()}`, {}, work);
  };
  let tracker: OrderTracker | undefined;
  try {
    const { broker } = deps;
    const allocations = await inPhase(Phase.FETCHING_ALLOCATIONS, () =>
      inSpan("allocations.fetch", { "strategy.name": account.strategy }, () =>
        deps.allocations.targets(account),
      ),
    );
    const targets = applyReplacements(allocations.targets, account.replacements);
    run.targets = targets.map((t) => create(TargetSchema, t));
    await emit({
      case: "allocations",
      value: create(AllocationsFetchedSchema, {
        strategy: allocations.strategy,
        targets: run.targets,
        asOf: allocations.asOf,
      }),
    });

    const input = await inPhase(Phase.READING_ACCOUNT, () =>
      readAccount(deps, account, allocations, run),
    );
    const planned = await inPhase(Phase.PLANNING, () => plan(input));
    run.plan = planMessage(planned);
    const closed = await inPhase(Phase.CHECKING_HOURS, () =>
      closedMarket(deps, account, [...planned.sells, ...planned.buys]),
    );
    if (closed && !live) {
      // A preview is still worth showing at night; say what a live run would do.
      run.plan.warnings.push(`${closed.message}; a live run now would be postponed`);
    }
    await emit({
      case: "plan",
      value: create(PlanReadySchema, {
        plan: run.plan,
        netLiquidation: run.netLiquidation,
        cash: run.cash,
      }),
    });
    if (!live) {
      return finish(run, emit, RunStatus.COMPLETED, dryRunMessage(planned));
    }
    if (closed) {
      run.status = RunStatus.POSTPONED;
      run.message = closed.message;
      run.nextAttemptAt = closed.nextOpen ? timestampFromDate(closed.nextOpen) : undefined;
      return emit({
        case: "postponed",
        value: create(RunPostponedSchema, {
          nextAttemptAt: run.nextAttemptAt,
          message: closed.message,
        }),
      });
    }
    if (planned.sells.length === 0 && planned.buys.length === 0) {
      return finish(run, emit, RunStatus.COMPLETED, "already balanced: nothing to trade");
    }

    // Order events are emitted in arrival order; `pending` keeps the stream's order intact.
    let pending = Promise.resolve();
    tracker = new OrderTracker(
      broker,
      (order) => order.runId === run.runId,
      (event) => {
        const message = orderMessage(event.order);
        upsertOrder(run, message);
        if (event.kind === "fill") run.fills.push(fillMessage(event.fill));
        pending = pending.then(() =>
          event.kind === "fill"
            ? emit({
                case: "orderFilled",
                value: create(OrderFilledSchema, { fill: fillMessage(event.fill) }),
              })
            : emit({ case: "orderUpdated", value: create(OrderUpdatedSchema, { order: message }) }),
        );
      },
    );

    await inPhase(Phase.CANCELLING_OPEN_ORDERS, () =>
      cancelOpenOrders(broker, account.accountId, deps.cancelTimeoutMs ?? 60_000),
    );
    const adjustments: string[] = [];
    const orders = tracker;
    if (planned.sells.length > 0) {
      await inPhase(Phase.SELLING, async () => {
        await trade(deps, account, run, orders, planned.sells, emit, adjustments);
        await pending;
      });
    }
    const buys = await inPhase(Phase.REFRESHING_CASH, async () => {
      const refreshed = await readAccount(deps, account, allocations, run);
      const replanned = planBuys(refreshed).buys;
      checkOrderSizes(replanned);
      return replanned;
    });
    describeBuyChanges(planned.buys, buys, adjustments);
    if (buys.length > 0) {
      await inPhase(Phase.BUYING, async () => {
        await trade(deps, account, run, orders, buys, emit, adjustments);
        await pending;
      });
    }
    return finish(
      run,
      emit,
      adjustments.length > 0 ? RunStatus.COMPLETED_WITH_ADJUSTMENTS : RunStatus.COMPLETED,
      adjustments.length > 0
        ? `completed with adjustments: ${adjustments.join("; ")}`
        : `completed: ${run.orders.length} orders filled`,
    );
  } catch (err) {
    const failure = RunFailure.from(err);
    run.status = RunStatus.FAILED;
    run.failureReason = failure.reason;
    run.message = failure.message;
    await emit({
      case: "failed",
      value: create(RunFailedSchema, {
        reason: failure.reason,
        message: failure.message,
        orders: run.orders,
      }),
    });
  } finally {
    tracker?.close();
  }
}

async function readAccount(
  deps: ExecutionDeps,
  account: Account,
  allocations: Allocations,
  run: Run,
): Promise<PlanInput> {
  const { broker } = deps;
  const [holdings, values] = await Promise.all([
    broker.holdings(account.accountId),
    broker.accountValues(account.accountId),
  ]);
  const targets = applyReplacements(allocations.targets, account.replacements);
  const symbols = [...new Set([...holdings.map((h) => h.symbol), ...targets.map((t) => t.symbol)])];
  const quotes = await broker.quotes(symbols);
  const prices = new Map([...quotes].map(([symbol, quote]) => [symbol, quote.price]));
  run.netLiquidation = values.netLiquidation;
  run.cash = values.cash;
  run.holdings = positionMessages(holdings, prices, values.netLiquidation);
  return {
    targets: allocations.targets,
    holdings: holdings.map((h) => ({ symbol: h.symbol, quantity: h.quantity })),
    prices,
    netLiquidation: values.netLiquidation,
    cash: values.cash,
    settings: account.settings,
    replacements: account.replacements,
  };
}

/** The first symbol to trade whose market is closed, with the earliest time all can trade. */
async function closedMarket(
  deps: ExecutionDeps,
  account: Account,
  orders: PlannedOrder[],
): Promise<{ message: string; nextOpen?: Date } | undefined> {
  if (orders.length === 0) return undefined;
  const symbols = [...new Set(orders.map((o) => o.symbol))];
  const sessions = await deps.broker.sessions(symbols, deps.now(), account.settings.extendedHours);
  const closed = symbols.filter((s) => sessions.get(s)?.open !== true).sort();
  if (closed.length === 0) return undefined;
  const opens = closed.map((s) => sessions.get(s)?.nextOpen?.getTime() ?? 0);
  const nextOpen = opens.includes(0) ? undefined : new Date(Math.max(...opens));
  const when = nextOpen ? `; next session ${nextOpen.toISOString()}` : "";
  return { message: `market closed for ${closed.join(", ")}${when}`, nextOpen };
}

/** Cancels the account's working orders and waits until the broker reports none. */
async function cancelOpenOrders(
  broker: Broker,
  accountId: string,
  timeoutMs: number,
): Promise<void> {
  const open = await broker.openOrders(accountId);
  if (open.length === 0) return;
  await Promise.all(open.map((o) => broker.cancelOrder(o.orderId)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await broker.openOrders(accountId);
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      const ids = left.map((o) => `${o.orderId} (${o.side} ${o.quantity} ${o.symbol})`).join(", ");
      throw new RunFailure(
        FailureReason.OPEN_ORDERS_NOT_CANCELLED,
        `open orders still working after ${timeoutMs / 1000} s: ${ids}; nothing was traded`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, timeoutMs / 10)));
  }
}

/** Places one phase's orders and waits for all of them; a rejection or timeout fails the run. */
async function trade(
  deps: ExecutionDeps,
  account: Account,
  run: Run,
  tracker: OrderTracker,
  orders: PlannedOrder[],
  emit: (event: RunEvent) => Promise<void>,
  adjustments: string[],
): Promise<void> {
  const placed: BrokerOrder[] = [];
  // One span per order, from placement to its final status.
  const spans = new Map<string, Span>();
  for (const order of orders) {
    const request = orderRequest(account, run.runId, order);
    const span = tracer.startSpan(`order ${order.side} ${order.symbol}`, {
      attributes: {
        "order.symbol": order.symbol,
        "order.side": order.side,
        "order.quantity": order.quantity,
        "order.type": request.orderType,
      },
    });
    const accepted = tracker.placed(
      await context
        .with(trace.setSpan(context.active(), span), () => deps.broker.placeOrder(request))
        .catch((err: unknown) => {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          span.end();
          throw err;
        }),
    );
    span.setAttribute("order.id", accepted.orderId);
    spans.set(accepted.orderId, span);
    const message = orderMessage(accepted);
    upsertOrder(run, message);
    placed.push(accepted);
    await emit({ case: "orderSubmitted", value: create(OrderSubmittedSchema, { order: message }) });
  }
  const ids = placed.map((o) => o.orderId);
  const phase = orders[0]?.side === "sell" ? "sells" : "buys";
  let settled: { done: boolean; orders: BrokerOrder[] };
  try {
    settled = await whileConnected(
      deps.broker,
      tracker.settle(ids, deps.fillTimeoutMs ?? 300_000),
      `connection to the broker lost while waiting for the ${phase} to fill; nothing more was ` +
        "placed, and the orders may still be working: check ListOpenOrders",
    );
  } finally {
    for (const id of ids) {
      const o = tracker.get(id)!;
      const span = spans.get(id)!;
      span.setAttributes({ "order.status": o.status, "order.filled_quantity": o.filledQuantity });
      if (o.status !== "filled") span.setStatus({ code: SpanStatusCode.ERROR, message: o.message });
      span.end();
      deps.metrics?.orderFinished(o);
    }
  }
  const { done, orders: final } = settled;
  const describe = (o: BrokerOrder) =>
    `${o.side} of ${o.quantity} ${o.symbol} (order ${o.orderId})`;
  const rejected = final.find((o) => o.status === "rejected" || o.status === "cancelled");
  if (rejected) {
    throw new RunFailure(
      FailureReason.ORDER_REJECTED,
      `${describe(rejected)} ${rejected.status}: ${rejected.message || "no reason given"}`,
    );
  }
  if (!done) {
    const late = final.filter((o) => o.status !== "filled");
    // Leave nothing working behind a failed run.
    await Promise.all(late.map((o) => deps.broker.cancelOrder(o.orderId).catch(() => undefined)));
    throw new RunFailure(
      FailureReason.ORDER_TIMEOUT,
      `${late.map(describe).join(", ")} not filled within ${(deps.fillTimeoutMs ?? 300_000) / 1000} s; cancelled`,
    );
  }
  for (const o of final) {
    if (o.filledQuantity < o.quantity) {
      adjustments.push(`${describe(o)} filled ${o.filledQuantity} of ${o.quantity}`);
    }
  }
}

function orderRequest(account: Account, runId: string, order: PlannedOrder): OrderRequest {
  const { orderType, limitBandPercent, timeInForce, extendedHours } = account.settings;
  const band = limitBandPercent / 100;
  return {
    accountId: account.accountId,
    symbol: order.symbol,
    side: order.side,
    quantity: order.quantity,
    orderType,
    // A band off the last price: willing to pay a little more on buys, take a little less on sells.
    limitPrice:
      orderType === "limit"
        ? roundMoney(order.price * (order.side === "buy" ? 1 + band : 1 - band))
        : undefined,
    timeInForce,
    outsideRth: extendedHours,
    runId,
  };
}

function upsertOrder(run: Run, order: RunEventOrder): void {
  const i = run.orders.findIndex((o) => o.orderId === order.orderId);
  if (i >= 0) run.orders[i] = order;
  else run.orders.push(order);
}
type RunEventOrder = Run["orders"][number];

/** Buys re-planned against the real cash can differ from the first plan: say how. */
function describeBuyChanges(before: PlannedOrder[], after: PlannedOrder[], adjustments: string[]) {
  const now = new Map(after.map((o) => [o.symbol, o.quantity]));
  for (const o of before) {
    const quantity = now.get(o.symbol) ?? 0;
    if (quantity !== o.quantity) {
      adjustments.push(`buy of ${o.symbol} re-planned from ${o.quantity} to ${quantity} shares`);
    }
  }
}

function dryRunMessage(planned: Plan): string {
  const count = planned.sells.length + planned.buys.length;
  return count === 0
    ? "dry run: already balanced, nothing to trade"
    : `dry run: ${planned.sells.length} sells and ${planned.buys.length} buys planned, nothing placed`;
}

async function finish(
  run: Run,
  emit: (event: RunEvent) => Promise<void>,
  status: RunStatus,
  message: string,
): Promise<void> {
  run.status = status;
  run.message = message;
  await emit({
    case: "completed",
    value: create(RunCompletedSchema, { status, message, orders: run.orders }),
  });
}

/** Whole shares one order can carry in the contract (uint32). */
const maxOrderShares = 4_294_967_295;

/** Fails the run on an order beyond what the contract can carry, before anything is placed. */
function checkOrderSizes(orders: readonly PlannedOrder[]): void {
  for (const o of orders) {
    if (o.quantity > maxOrderShares) {
      throw new RunFailure(
        FailureReason.INTERNAL,
        `cannot plan: ${o.side} of ${o.quantity} ${o.symbol} is more shares than one order can ` +
          `carry (${maxOrderShares}); check the price of ${o.symbol} (${o.price})`,
      );
    }
  }
}

/** The contract's form of a plan. */
function planMessage(planned: Plan): PlanMessage {
  checkOrderSizes([...planned.sells, ...planned.buys]);
  const order = (o: PlannedOrder) =>
    create(PlannedOrderSchema, {
      symbol: o.symbol,
      side: sideMessage(o.side),
      quantity: o.quantity,
      price: o.price,
      marketValue: o.value,
      reason: o.reason,
    });
  return create(PlanSchema, {
    orders: [...planned.sells.map(order), ...planned.buys.map(order)],
    weights: planned.weights.map((w) =>
      create(ProjectedWeightSchema, {
        symbol: w.symbol,
        currentWeight: w.current,
        targetWeight: w.target,
        projectedWeight: w.projected,
      }),
    ),
    projectedCash: planned.projectedCash,
    reservedCash: planned.reservedCash,
    warnings: [...planned.warnings],
  });
}
