// IB's types in the port's terms, and back. Pure functions: the rest of the adapter (and the
// rest of the system) never interprets an IB field itself.

import {
  IBApiTickType,
  OrderAction,
  OrderType as IbOrderType,
  type Contract,
  type Execution,
  type MarketDataTicks,
  type OpenOrder,
  type Order,
  type Position,
  type TimeInForce,
} from "@stoqey/ib";
import { BrokerError } from "../broker-error.js";
import type {
  AccountValues,
  BrokerFill,
  BrokerOrder,
  Holding,
  OrderRequest,
  OrderState,
  OrderType,
  Quote,
  Side,
} from "../broker.js";
import { isTimeZone, zonedTimeToUtc } from "./zoned-time.js";

/** Account summary values: account -> tag -> currency -> value. */
export type SummaryValues = ReadonlyMap<string, ReadonlyMap<string, { value: string }>>;

/** The account summary tags accountValues reads. */
export const SUMMARY_TAGS = "NetLiquidation,TotalCashValue,AvailableFunds";

export function holdingFromPosition(position: Position): Holding {
  return {
    symbol: position.contract.symbol ?? "",
    quantity: position.pos,
    averageCost: position.avgCost ?? 0,
    currency: position.contract.currency ?? "",
  };
}

/** Reads the summary tags of one account; throws when one is missing. */
export function accountValuesFromSummary(
  accountId: string,
  tags: SummaryValues | undefined,
  asOf: Date,
): AccountValues {
  const read = (tag: string) => {
    // One entry per currency; the base currency is the one TWS reports for NetLiquidation.
    const [entry] = [...(tags?.get(tag) ?? [])].filter(([currency]) => currency !== "BASE");
    const value = Number(entry?.[1].value);
    if (!entry || !Number.isFinite(value)) {
      throw new BrokerError("internal", `account summary of ${accountId} has no ${tag}`);
    }
    return { value, currency: entry[0] };
  };
  const netLiquidation = read("NetLiquidation");
  return {
    netLiquidation: netLiquidation.value,
    cash: read("TotalCashValue").value,
    availableFunds: read("AvailableFunds").value,
    currency: netLiquidation.currency,
    asOf,
  };
}

/** The price to use from snapshot ticks: last, else the bid/ask midpoint, else the close. */
export function quoteFromTicks(symbol: string, ticks: MarketDataTicks): Quote | undefined {
  const price = (live: IBApiTickType, delayed: IBApiTickType) =>
    [ticks.get(live)?.value, ticks.get(delayed)?.value].find(
      (v): v is number => typeof v === "number" && Number.isFinite(v) && v > 0,
    );
  const last = price(IBApiTickType.LAST, IBApiTickType.DELAYED_LAST);
  if (last !== undefined) return { symbol, price: last, source: "last" };
  const bid = price(IBApiTickType.BID, IBApiTickType.DELAYED_BID);
  const ask = price(IBApiTickType.ASK, IBApiTickType.DELAYED_ASK);
  if (bid !== undefined && ask !== undefined && ask >= bid) {
    return { symbol, price: (bid + ask) / 2, source: "midpoint" };
  }
  const close = price(IBApiTickType.CLOSE, IBApiTickType.DELAYED_CLOSE);
  if (close !== undefined) return { symbol, price: close, source: "close" };
  return undefined;
}

/** Where an order stands, from IB's status word, the filled quantity and a rejection seen. */
export function orderStateFrom(
  ibStatus: string | undefined,
  filled: number,
  quantity: number,
  rejected: boolean,
): OrderState {
  if (rejected) return "rejected";
  if (quantity > 0 && filled >= quantity) return "filled";
  switch (ibStatus) {
    case "Cancelled":
    case "ApiCancelled":
      return "cancelled";
    case "Inactive":
      return "rejected";
  }
  if (filled > 0) return "partially_filled";
  if (ibStatus === "PreSubmitted" || ibStatus === "Submitted" || ibStatus === "PendingCancel") {
    return "submitted";
  }
  return "pending_submit";
}

/** True for states after which nothing more happens to an order. */
export function isTerminal(state: OrderState): boolean {
  return state === "filled" || state === "cancelled" || state === "rejected";
}

const ORDER_TYPES: Record<OrderType, IbOrderType> = {
  market: IbOrderType.MKT,
  limit: IbOrderType.LMT,
  market_on_close: IbOrderType.MOC,
};

/** The IB order for a request; transmit is explicit (an absent field means "do not transmit"). */
export function ibOrderFromRequest(request: OrderRequest): Order {
  return {
    action: request.side === "buy" ? OrderAction.BUY : OrderAction.SELL,
    totalQuantity: request.quantity,
    orderType: ORDER_TYPES[request.orderType],
    lmtPrice: request.orderType === "limit" ? request.limitPrice : undefined,
    tif: request.timeInForce as TimeInForce,
    outsideRth: request.outsideRth,
    account: request.accountId,
    orderRef: request.runId,
    transmit: true,
  };
}

export function sideFromIb(action: string | undefined): Side {
  return action === "BUY" || action === "BOT" ? "buy" : "sell";
}

/** The port's order type for an IB one; types the port lacks count as limit or market. */
export function orderTypeFromIb(
  orderType: string | undefined,
  limitPrice: number | undefined,
): OrderType {
  if (orderType === "MKT") return "market";
  if (orderType === "LMT") return "limit";
  if (orderType === "MOC") return "market_on_close";
  return limitPrice !== undefined ? "limit" : "market";
}

/** How the adapter names an order: IB's order id for its own, "perm:<permId>" for others'. */
export function orderIdOf(
  ibOrderId: number,
  clientId: number | undefined,
  permId: number | undefined,
  ownClientId: number,
): string {
  return clientId === ownClientId && ibOrderId > 0 ? String(ibOrderId) : `perm:${permId ?? 0}`;
}

/** An open order (any client's) in the port's terms. */
export function brokerOrderFromOpenOrder(open: OpenOrder, ownClientId: number): BrokerOrder {
  const { order, contract, orderState, orderStatus } = open;
  const quantity = order.totalQuantity ?? 0;
  const filled = orderStatus?.filled ?? 0;
  const status = orderStatus?.status ?? orderState.status;
  const nonPortType = !(["MKT", "LMT", "MOC"] as string[]).includes(order.orderType ?? "");
  return {
    orderId: orderIdOf(open.orderId, order.clientId, order.permId, ownClientId),
    accountId: order.account ?? "",
    symbol: contract.symbol ?? "",
    side: sideFromIb(order.action),
    quantity,
    orderType: orderTypeFromIb(order.orderType, order.lmtPrice),
    limitPrice: order.lmtPrice ?? 0,
    timeInForce: order.tif ?? "",
    status: orderStateFrom(status, filled, quantity, false),
    filledQuantity: filled,
    averageFillPrice: orderStatus?.avgFillPrice ?? 0,
    message: nonPortType ? `IB order type ${order.orderType}` : "",
    runId: order.orderRef ?? "",
    ...(order.clientId === ownClientId ? {} : { placedBy: placedBy(order.clientId) }),
  };
}

/**
 * One of this client's orders known only by an execution: placed before a restart and no longer
 * open, so TWS tells of it through its executions alone. Its quantity is what had executed
 * (`cumQty`), its type and time in force are not told (market, "").
 */
export function brokerOrderFromExecution(contract: Contract, execution: Execution): BrokerOrder {
  const filled = execution.cumQty ?? execution.shares ?? 0;
  return {
    orderId: String(execution.orderId ?? 0),
    accountId: execution.acctNumber ?? "",
    symbol: contract.symbol ?? "",
    side: sideFromIb(execution.side),
    quantity: filled,
    orderType: "market",
    limitPrice: 0,
    timeInForce: "",
    status: "filled",
    filledQuantity: filled,
    averageFillPrice: execution.avgPrice ?? execution.price ?? 0,
    message: "",
    runId: execution.orderRef ?? "",
  };
}

/** Who placed another client's order, for messages. */
function placedBy(clientId: number | undefined): string {
  // Orders entered in TWS by hand carry client id 0, like the master client's.
  return clientId === 0 || clientId === undefined
    ? "TWS or API client 0"
    : `API client ${clientId}`;
}

/** An execution as a fill. */
export function fillFromExecution(
  orderId: string,
  contract: Contract,
  execution: Execution,
  received: Date,
): BrokerFill {
  return {
    orderId,
    executionId: execution.execId ?? "",
    accountId: execution.acctNumber ?? "",
    symbol: contract.symbol ?? "",
    side: sideFromIb(execution.side),
    quantity: execution.shares ?? 0,
    price: execution.price ?? 0,
    time: executionTime(execution.time) ?? received,
  };
}

/**
 * Reads IB's execution time, "20250624 10:31:05 US/Eastern" (or with "-" or two spaces). Without
 * a zone the time is in TWS's own unknown zone, so the caller uses the time it was received.
 */
export function executionTime(text: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})[\s-]+(\d{2}):(\d{2}):(\d{2})\s+(\S+)$/.exec(
    text?.trim() ?? "",
  );
  if (!match || !isTimeZone(match[7])) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  return zonedTimeToUtc({ year, month, day, hour, minute, second }, match[7]);
}
