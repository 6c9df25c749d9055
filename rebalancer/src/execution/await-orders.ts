import { SpanStatusCode, type Span } from "@opentelemetry/api";
import type { BrokerOrder } from "../broker/broker.js";
import { RunFailure } from "./run-failure.js";
import type { TradeContext } from "./trade-context.js";
import { untilHandedOver } from "./until-handed-over.js";
import { whileConnected } from "./while-connected.js";

/**
 * Waits until the run's orders `orderIds` have ended: within the fill timeout, while the broker
 * link holds and the run is not handed over. A rejection or a cancellation fails the run, and so
 * does the timeout (the late orders are cancelled first: nothing is left working behind a failed
 * run). Resolves with what filled short of the order (for the run's final message), [] when
 * nothing. Each order's span in `spans` ends here with its final status.
 */
export async function awaitOrders(
  ctx: TradeContext,
  orderIds: string[],
  spans: ReadonlyMap<string, Span> = new Map(),
): Promise<string[]> {
  const { deps } = ctx;
  const tracker = ctx.orders.tracker;
  const sides = new Set(orderIds.map((id) => tracker.get(id)!.side));
  const what = sides.size > 1 ? "orders" : sides.has("sell") ? "sells" : "buys";
  const fillTimeoutMs = deps.fillTimeoutMs ?? 300_000;
  let settled: { done: boolean; orders: BrokerOrder[] };
  try {
    settled = await untilHandedOver(
      ctx,
      whileConnected(
        deps.broker,
        tracker.settle(orderIds, fillTimeoutMs),
        `connection to the broker lost while waiting for the ${what} to fill; nothing more was ` +
          "placed, and the orders may still be working: check ListOpenOrders",
      ),
    );
  } finally {
    for (const id of orderIds) {
      const o = tracker.get(id)!;
      const span = spans.get(id);
      span?.setAttributes({ "order.status": o.status, "order.filled_quantity": o.filledQuantity });
      if (o.status !== "filled")
        span?.setStatus({ code: SpanStatusCode.ERROR, message: o.message });
      span?.end();
      deps.metrics?.orderFinished(o);
    }
  }
  const { done, orders: final } = settled;
  const rejected = final.find((o) => o.status === "rejected" || o.status === "cancelled");
  if (rejected) {
    throw new RunFailure(
      "order_rejected",
      `${describeOrder(rejected)} ${rejected.status}: ${rejected.message || "no reason given"}`,
    );
  }
  if (!done) {
    const late = final.filter((o) => o.status !== "filled");
    // Leave nothing working behind a failed run.
    await Promise.all(late.map((o) => deps.broker.cancelOrder(o.orderId).catch(() => undefined)));
    throw new RunFailure(
      "order_timeout",
      `${late.map(describeOrder).join(", ")} not filled within ${fillTimeoutMs / 1000} s; cancelled`,
    );
  }
  return final
    .filter((o) => o.filledQuantity < o.quantity)
    .map((o) => `${describeOrder(o)} filled ${o.filledQuantity} of ${o.quantity}`);
}

/** e.g. "sell of 10 QQQ (order 12)". */
function describeOrder(o: BrokerOrder): string {
  return `${o.side} of ${o.quantity} ${o.symbol} (order ${o.orderId})`;
}
