import { context, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import type { PlannedOrder } from "../planning/index.js";
import { awaitOrders } from "./await-orders.js";
import { tracer } from "./in-span.js";
import { orderRequest } from "./order-request.js";
import { RunHandover } from "./run-handover.js";
import type { TradeContext } from "./trade-context.js";

/**
 * Places one phase's orders and waits for all of them (awaitOrders: a rejection or timeout fails
 * the run). Each is recorded as placed as soon as the broker acknowledges it, before the next is
 * sent; a run handed over places nothing more. Resolves with what filled short of the plan (for
 * the run's final message), [] when nothing.
 */
export async function trade(ctx: TradeContext, orders: PlannedOrder[]): Promise<string[]> {
  const { deps, account, runId } = ctx;
  const ids: string[] = [];
  // One span per order, from placement to its final status.
  const spans = new Map<string, Span>();
  for (const order of orders) {
    if (ctx.handover?.aborted) throw new RunHandover(runId);
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
    ids.push(accepted.orderId);
    await ctx.orders.recorded();
  }
  return awaitOrders(ctx, ids, spans);
}
