import type { Holding } from "../broker/broker.js";
import { roundMoney } from "../planning/index.js";
import type { ValuedHolding } from "./valued-holding.js";

/** Holdings valued at market prices (never cost basis); weights of the net liquidation value. */
export function valueHoldings(
  holdings: readonly Holding[],
  prices: ReadonlyMap<string, number>,
  netLiquidation: number,
): ValuedHolding[] {
  return holdings.map((h) => {
    const price = prices.get(h.symbol) ?? 0;
    const marketValue = roundMoney(h.quantity * price);
    return {
      symbol: h.symbol,
      quantity: h.quantity,
      price,
      marketValue,
      weight: netLiquidation > 0 ? marketValue / netLiquidation : 0,
      averageCost: h.averageCost,
      currency: h.currency,
    };
  });
}
