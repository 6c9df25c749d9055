import type { AccountValues, Broker, Holding } from "../broker/broker.js";
import type { ValuedHolding } from "./valued-holding.js";
import { valueHoldings } from "./value-holdings.js";

/** An account's holdings and values as read from the broker, with the prices used. */
export interface Positions {
  holdings: Holding[];
  /** The holdings valued at `prices`. */
  valued: ValuedHolding[];
  values: AccountValues;
  /** Market price by symbol: the holdings' and `alsoPrice`'s; a symbol without one is absent. */
  prices: Map<string, number>;
}

/**
 * Reads an account's holdings and values, and prices them at the market (with `alsoPrice`, e.g.
 * symbols to buy): the one place quotes become prices. Rejects with the broker's BrokerError.
 */
export async function readPositions(
  broker: Broker,
  accountId: string,
  alsoPrice: readonly string[] = [],
): Promise<Positions> {
  const [holdings, values] = await Promise.all([
    broker.holdings(accountId),
    broker.accountValues(accountId),
  ]);
  const symbols = [...new Set([...holdings.map((h) => h.symbol), ...alsoPrice])];
  const quotes = await broker.quotes(symbols);
  const prices = new Map([...quotes].map(([symbol, quote]) => [symbol, quote.price]));
  return {
    holdings,
    valued: valueHoldings(holdings, prices, values.netLiquidation),
    values,
    prices,
  };
}
