import { FailureReason } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Broker } from "../broker/broker.js";
import { RunFailure } from "./run-failure.js";

/** Cancels the account's working orders and waits until the broker reports none. */
export async function cancelOpenOrders(
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
