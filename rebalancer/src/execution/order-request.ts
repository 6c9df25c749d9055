import type { Account } from "@mesh/platform/accounts";
import type { OrderRequest } from "../broker/broker.js";
import { roundMoney, type PlannedOrder } from "../planning/index.js";

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
