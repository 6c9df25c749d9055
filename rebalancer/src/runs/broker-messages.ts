// The contract's form of the broker port's orders and fills, and of valued holdings.
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
import type { BrokerFill, BrokerOrder, OrderState, Side } from "../broker/broker.js";
import type { ValuedHolding } from "../execution/valued-holding.js";

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

export function positionMessage(holding: ValuedHolding): Position {
  return create(PositionSchema, holding);
}
