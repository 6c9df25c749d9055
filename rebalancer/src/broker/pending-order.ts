import type { BrokerOrder, OrderRequest } from "./broker.js";

/** An order just placed, before the broker said anything about it. */
export function pendingOrder(orderId: string, request: OrderRequest): BrokerOrder {
  return {
    orderId,
    accountId: request.accountId,
    symbol: request.symbol,
    side: request.side,
    quantity: request.quantity,
    orderType: request.orderType,
    limitPrice: request.limitPrice ?? 0,
    timeInForce: request.timeInForce,
    status: "pending_submit",
    filledQuantity: 0,
    averageFillPrice: 0,
    message: "",
    runId: request.runId,
  };
}
