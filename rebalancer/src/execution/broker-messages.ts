// Translation of the broker port's holdings, orders and fills into the contract's messages.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  FillSchema,
  OrderSchema,
  OrderSide,
  OrderStatus,
  OrderType,
  PositionSchema,
  type Fill,
  type Order,
  type Position,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { BrokerFill, BrokerOrder, Holding, OrderState, Side } from "../broker/broker.js";
import { roundMoney } from "../planning/money.js";

const sides: Record<Side, OrderSide> = { buy: OrderSide.BUY, sell: OrderSide.SELL };

const statuses: Record<OrderState, OrderStatus> = {
  pending_submit: OrderStatus.PENDING_SUBMIT,
  submitted: OrderStatus.SUBMITTED,
  partially_filled: OrderStatus.PARTIALLY_FILLED,
  filled: OrderStatus.FILLED,
  cancelled: OrderStatus.CANCELLED,
  rejected: OrderStatus.REJECTED,
};

const types = {
  market: OrderType.MARKET,
  limit: OrderType.LIMIT,
  market_on_close: OrderType.MARKET_ON_CLOSE,
} as const;

export function sideMessage(side: Side): OrderSide {
  return sides[side];
}

export function orderMessage(order: BrokerOrder): Order {
  return create(OrderSchema, {
    orderId: order.orderId,
    accountId: order.accountId,
    runId: order.runId,
    symbol: order.symbol,
    side: sides[order.side],
    quantity: order.quantity,
    orderType: types[order.orderType],
    limitPrice: order.limitPrice,
    timeInForce: order.timeInForce,
    status: statuses[order.status],
    filledQuantity: order.filledQuantity,
    averageFillPrice: order.averageFillPrice,
    message: order.message,
  });
}

export function fillMessage(fill: BrokerFill): Fill {
  return create(FillSchema, {
    orderId: fill.orderId,
    executionId: fill.executionId,
    symbol: fill.symbol,
    side: sides[fill.side],
    quantity: fill.quantity,
    price: fill.price,
    time: timestampFromDate(fill.time),
  });
}

/** Holdings valued at market prices (never cost basis); weights of the net liquidation value. */
export function positionMessages(
  holdings: readonly Holding[],
  prices: ReadonlyMap<string, number>,
  netLiquidation: number,
): Position[] {
  return holdings.map((h) => {
    const price = prices.get(h.symbol) ?? 0;
    const marketValue = roundMoney(h.quantity * price);
    return create(PositionSchema, {
      symbol: h.symbol,
      quantity: h.quantity,
      price,
      marketValue,
      weight: netLiquidation > 0 ? marketValue / netLiquidation : 0,
      averageCost: h.averageCost,
      currency: h.currency,
    });
  });
}
