import { FailureReason } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Broker, BrokerOrder } from "../broker/broker.js";
import type { ForeignOpenOrders } from "./execution-deps.js";
import { RunFailure } from "./run-failure.js";

/**
 * Cancels the account's working orders and waits until the broker reports none. Orders another
 * client placed cannot be cancelled from here: the run refuses before trading, naming each one,
 * unless `foreign` lets it leave those on symbols the plan does not trade in place.
 */
export async function cancelOpenOrders(
  broker: Broker,
  accountId: string,
  timeoutMs: number,
  plan: { symbols: ReadonlySet<string>; foreign: ForeignOpenOrders } = {
    symbols: new Set(),
    foreign: "refuse",
  },
): Promise<void> {
  const ignored = (o: BrokerOrder) =>
    o.placedBy !== undefined &&
    plan.foreign === "ignore_untraded_symbols" &&
    !plan.symbols.has(o.symbol);
  const open = (await broker.openOrders(accountId)).filter((o) => !ignored(o));
  refuseForeign(accountId, open, plan);
  if (open.length === 0) return;
  await Promise.all(open.map((o) => broker.cancelOrder(o.orderId)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await broker.openOrders(accountId)).filter((o) => !ignored(o));
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

/** Throws, listing every order another client placed, before anything is cancelled or traded. */
function refuseForeign(
  accountId: string,
  open: BrokerOrder[],
  plan: { symbols: ReadonlySet<string>; foreign: ForeignOpenOrders },
): void {
  const foreign = open.filter((o) => o.placedBy !== undefined);
  if (foreign.length === 0) return;
  const list = foreign
    .map((o) => `order ${o.orderId}: ${o.side} ${o.quantity} ${o.symbol} (placed by ${o.placedBy})`)
    .join("; ");
  const untraded = foreign.some((o) => !plan.symbols.has(o.symbol));
  const hint =
    untraded && plan.foreign === "refuse"
      ? "; or, to leave other clients' orders on symbols this plan does not trade in place, " +
        "set FOREIGN_OPEN_ORDERS=ignore-untraded-symbols"
      : "";
  throw new RunFailure(
    FailureReason.OPEN_ORDERS_NOT_CANCELLED,
    `refusing to trade on ${accountId}: ${foreign.length} open order${foreign.length === 1 ? " was" : "s were"} ` +
      `placed by another client and cannot be cancelled from here: ${list}. Nothing was cancelled ` +
      `or traded. Cancel ${foreign.length === 1 ? "it" : "them"} in TWS or from the client that placed ` +
      `${foreign.length === 1 ? "it" : "them"} (or with a global cancel), then run again${hint}`,
  );
}
