import type { BrokerOrder } from "../broker/broker.js";
import { cancelAndWait } from "./cancel-and-wait.js";
import type { ForeignOpenOrders } from "./execution-deps.js";
import type { RunContext } from "./run-context.js";
import { RunFailure } from "./run-failure.js";

/**
 * Cancels the account's working orders before a run trades, and waits until the broker reports
 * each ended. Orders another client placed cannot be cancelled from here: the run refuses before
 * trading, naming each one, unless the deps' `foreignOpenOrders` lets it leave those on symbols
 * the plan (`symbols`) does not trade in place.
 */
export async function cancelOpenOrders(
  ctx: RunContext,
  symbols: ReadonlySet<string>,
): Promise<void> {
  const { broker } = ctx.deps;
  const { accountId } = ctx.account;
  const foreign = ctx.deps.foreignOpenOrders ?? "refuse";
  const timeoutMs = ctx.deps.cancelTimeoutMs ?? 60_000;
  const ignored = (o: BrokerOrder) =>
    o.placedBy !== undefined && foreign === "ignore_untraded_symbols" && !symbols.has(o.symbol);
  const { remaining } = await cancelAndWait(
    broker,
    async () => {
      const open = (await broker.openOrders(accountId)).filter((o) => !ignored(o));
      refuseForeign(accountId, open, symbols, foreign);
      return open;
    },
    timeoutMs,
  );
  if (remaining.length > 0) {
    const ids = remaining.map((o) => `${o.orderId} (${o.side} ${o.quantity} ${o.symbol})`);
    throw new RunFailure(
      "open_orders_not_cancelled",
      `open orders still working after ${timeoutMs / 1000} s: ${ids.join(", ")}; nothing was traded`,
    );
  }
}

/** Throws, listing every order another client placed, before anything is cancelled or traded. */
function refuseForeign(
  accountId: string,
  open: BrokerOrder[],
  symbols: ReadonlySet<string>,
  policy: ForeignOpenOrders,
): void {
  const foreign = open.filter((o) => o.placedBy !== undefined);
  if (foreign.length === 0) return;
  const list = foreign
    .map((o) => `order ${o.orderId}: ${o.side} ${o.quantity} ${o.symbol} (placed by ${o.placedBy})`)
    .join("; ");
  const untraded = foreign.some((o) => !symbols.has(o.symbol));
  const hint =
    untraded && policy === "refuse"
      ? "; or, to leave other clients' orders on symbols this plan does not trade in place, " +
        "set FOREIGN_OPEN_ORDERS=ignore-untraded-symbols"
      : "";
  throw new RunFailure(
    "open_orders_not_cancelled",
    `refusing to trade on ${accountId}: ${foreign.length} open order${foreign.length === 1 ? " was" : "s were"} ` +
      `placed by another client and cannot be cancelled from here: ${list}. Nothing was cancelled ` +
      `or traded. Cancel ${foreign.length === 1 ? "it" : "them"} in TWS or from the client that placed ` +
      `${foreign.length === 1 ? "it" : "them"} (or with a global cancel), then run again${hint}`,
  );
}
