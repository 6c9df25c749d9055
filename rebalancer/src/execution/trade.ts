import type { Account } from "@mesh/platform/accounts";
import { context, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { FailureReason, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { BrokerOrder, OrderRequest } from "../broker/broker.js";
import { roundMoney, type PlannedOrder } from "../planning/index.js";
import type { ExecutionDeps } from "./execution-deps.js";
import { tracer } from "./in-span.js";
import type { RunOrders } from "./run-orders.js";
import { RunFailure } from "./run-failure.js";
import { whileConnected } from "./while-connected.js";

/** What `trade` works with: the run, its orders as streamed, and what it reports back. */
export interface TradeContext {
  deps: ExecutionDeps;
  account: Account;
  run: Run;
  orders: RunOrders;
  /** Where partial fills are told, for the run's final message. */
  adjustments: string[];
}

/** Places one phase's orders and waits for all of them; a rejection or timeout fails the run. */
export async function trade(ctx: TradeContext, orders: PlannedOrder[]): Promise<void> {
  const { deps, account, run, adjustments } = ctx;
  const tracker = ctx.orders.tracker;
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
    ctx.orders.placing();
    const accepted = ctx.orders.placed(
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
    placed.push(accepted);
    await ctx.orders.recorded();
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

/** The broker request for a planned order, with the account's order type, TIF and hours. */
export function orderRequest(account: Account, runId: string, order: PlannedOrder): OrderRequest {
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
