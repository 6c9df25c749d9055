import { context, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import type { BrokerOrder } from "../broker/broker.js";
import type { PlannedOrder } from "../planning/index.js";
import { tracer } from "./in-span.js";
import { orderRequest } from "./order-request.js";
import type { RunContext } from "./run-context.js";
import type { RunOrders } from "./run-orders.js";
import { RunFailure } from "./run-failure.js";
import { whileConnected } from "./while-connected.js";

/** What `trade` works with: the run, and its orders as recorded. */
export interface TradeContext extends RunContext {
  /** The run's orders: placements recorded first, then what the broker tells of them. */
  orders: RunOrders;
}

/**
 * Places one phase's orders and waits for all of them; a rejection or timeout fails the run.
 * Resolves with what filled short of the plan (for the run's final message), [] when nothing.
 */
export async function trade(ctx: TradeContext, orders: PlannedOrder[]): Promise<string[]> {
  const { deps, account, runId } = ctx;
  const tracker = ctx.orders.tracker;
  const placed: BrokerOrder[] = [];
  // One span per order, from placement to its final status.
  const spans = new Map<string, Span>();
  for (const order of orders) {
    const request = orderRequest(account, runId, order);
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
  const fillTimeoutMs = deps.fillTimeoutMs ?? 300_000;
  let settled: { done: boolean; orders: BrokerOrder[] };
  try {
    settled = await whileConnected(
      deps.broker,
      tracker.settle(ids, fillTimeoutMs),
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
      "order_rejected",
      `${describe(rejected)} ${rejected.status}: ${rejected.message || "no reason given"}`,
    );
  }
  if (!done) {
    const late = final.filter((o) => o.status !== "filled");
    // Leave nothing working behind a failed run.
    await Promise.all(late.map((o) => deps.broker.cancelOrder(o.orderId).catch(() => undefined)));
    throw new RunFailure(
      "order_timeout",
      `${late.map(describe).join(", ")} not filled within ${fillTimeoutMs / 1000} s; cancelled`,
    );
  }
  return final
    .filter((o) => o.filledQuantity < o.quantity)
    .map((o) => `${describe(o)} filled ${o.filledQuantity} of ${o.quantity}`);
}
