// Server-to-client message layouts at server version 193, field for field as @stoqey/ib 1.6.10
// decodes them (its decoder reports extra or missing fields, so a wrong layout fails the tests).

import type { TwsField } from "./tws-codec.js";
import type { Account, Instrument, TwsExecution, TwsOrder, WhatIfState } from "./tws-market.js";

export const SERVER_VERSION = 193;

/** Incoming (server to client) message ids. */
export const IN = {
  TICK_PRICE: 1,
  TICK_SIZE: 2,
  ORDER_STATUS: 3,
  ERR_MSG: 4,
  OPEN_ORDER: 5,
  NEXT_VALID_ID: 9,
  CONTRACT_DATA: 10,
  EXECUTION_DATA: 11,
  MANAGED_ACCTS: 15,
  CURRENT_TIME: 49,
  CONTRACT_DATA_END: 52,
  OPEN_ORDER_END: 53,
  EXECUTION_DATA_END: 55,
  TICK_SNAPSHOT_END: 57,
  MARKET_DATA_TYPE: 58,
  COMMISSION_REPORT: 59,
  POSITION: 61,
  POSITION_END: 62,
  ACCOUNT_SUMMARY: 63,
  ACCOUNT_SUMMARY_END: 64,
} as const;

/** Outgoing (client to server) message ids the server understands. */
export const OUT = {
  REQ_MKT_DATA: 1,
  CANCEL_MKT_DATA: 2,
  PLACE_ORDER: 3,
  CANCEL_ORDER: 4,
  REQ_OPEN_ORDERS: 5,
  REQ_EXECUTIONS: 7,
  REQ_IDS: 8,
  REQ_CONTRACT_DATA: 9,
  REQ_AUTO_OPEN_ORDERS: 15,
  REQ_ALL_OPEN_ORDERS: 16,
  REQ_MANAGED_ACCTS: 17,
  REQ_CURRENT_TIME: 49,
  REQ_GLOBAL_CANCEL: 58,
  REQ_MARKET_DATA_TYPE: 59,
  REQ_POSITIONS: 61,
  REQ_ACCOUNT_SUMMARY: 62,
  CANCEL_ACCOUNT_SUMMARY: 63,
  CANCEL_POSITIONS: 64,
  START_API: 71,
} as const;

/** Tick types: live and delayed. */
export const TICK = {
  BID: 1,
  ASK: 2,
  LAST: 4,
  CLOSE: 9,
  D_BID: 66,
  D_ASK: 67,
  D_LAST: 68,
  D_CLOSE: 75,
};

/** "yyyyMMdd HH:mm:ss UTC", the form TWS uses for times (in its own zone). */
export function twsTime(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10).replaceAll("-", "")} ${iso.slice(11, 19)} UTC`;
}

export const errorMessage = (id: number, code: number, message: string): TwsField[] => [
  IN.ERR_MSG,
  2,
  id,
  code,
  message,
  "",
];

export const tickPrice = (reqId: number, tickType: number, price: number): TwsField[] => [
  IN.TICK_PRICE,
  6,
  reqId,
  tickType,
  price,
  100,
  0,
];

export function contractData(reqId: number, i: Instrument): TwsField[] {
  return [
    IN.CONTRACT_DATA,
    reqId,
    i.symbol,
    "STK",
    "", // lastTradeDateOrContractMonth
    "", // lastTradeDate
    0, // strike
    "", // right
    "SMART",
    i.currency,
    i.symbol, // localSymbol
    i.symbol, // marketName
    i.symbol, // tradingClass
    i.conId,
    0.01, // minTick
    "", // multiplier
    "ACTIVETIM,AD,ADJUST,ALERT,LMT,MKT,MOC,LOC",
    `SMART,${i.primaryExchange}`,
    1, // priceMagnifier
    0, // underConId
    `${i.symbol} ETF`, // longName
    i.primaryExchange,
    "", // contractMonth
    "", // industry
    "", // category
    "", // subcategory
    i.timeZoneId,
    i.tradingHours,
    i.liquidHours,
    "", // evRule
    "", // evMultiplier
    0, // secIdList count
    1, // aggGroup
    "", // underSymbol
    "", // underSecType
    "26", // marketRuleIds
    "", // realExpirationDate
    "ETF", // stockType
    1, // minSize
    1, // sizeIncrement
    1, // suggestedSizeIncrement
    0, // ineligibility reasons count
  ];
}

/** The 11 contract fields of EXECUTION_DATA and POSITION (without exchange order quirks). */
function stockFields(i: Instrument): TwsField[] {
  return [i.conId, i.symbol, "STK", "", 0, "", "", "SMART", i.currency, i.symbol, i.symbol];
}

export function position(account: Account, i: Instrument): TwsField[] {
  const held = account.positions.get(i.symbol) ?? { quantity: 0, averageCost: 0 };
  return [IN.POSITION, 3, account.accountId, ...stockFields(i), held.quantity, held.averageCost];
}

export function orderStatus(o: TwsOrder): TwsField[] {
  return [
    IN.ORDER_STATUS,
    o.orderId,
    o.status,
    o.filled,
    o.quantity - o.filled,
    o.avgFillPrice,
    o.permId,
    0, // parentId
    o.lastFillPrice,
    o.clientId,
    "", // whyHeld
    0, // mktCapPrice
  ];
}

export function executionData(reqId: number, e: TwsExecution, i: Instrument): TwsField[] {
  const o = e.order;
  return [
    IN.EXECUTION_DATA,
    reqId,
    o.orderId,
    ...stockFields(i),
    e.execId,
    twsTime(e.time),
    o.accountId,
    i.primaryExchange,
    o.action === "BUY" ? "BOT" : "SLD",
    e.shares,
    e.price,
    o.permId,
    o.clientId,
    0, // liquidation
    e.cumQty,
    e.avgPrice,
    o.orderRef,
    "", // evRule
    "", // evMultiplier
    "", // modelCode
    1, // lastLiquidity
    0, // pendingPriceRevision
  ];
}

export const commissionReport = (e: TwsExecution): TwsField[] => [
  IN.COMMISSION_REPORT,
  1,
  e.execId,
  0, // commission
  "USD",
  "", // realizedPNL
  "", // yield
  "", // yieldRedemptionDate
];

/**
 * OPEN_ORDER for a plain stock order: no combo legs, algo, conditions, hedge or delta-neutral.
 * With `whatIf`, the answer to a what-if order: `whatIf` set and the order state's margin fields.
 */
export function openOrder(o: TwsOrder, i: Instrument, whatIf?: WhatIfState): TwsField[] {
  const w = whatIf;
  return [
    IN.OPEN_ORDER,
    o.orderId,
    i.conId,
    i.symbol,
    "STK",
    "", // lastTradeDateOrContractMonth
    0, // strike
    "", // right
    "", // multiplier
    "SMART",
    i.currency,
    i.symbol, // localSymbol
    i.symbol, // tradingClass
    o.action,
    o.quantity,
    o.orderType,
    o.limitPrice ?? "",
    "", // auxPrice
    o.tif,
    "", // ocaGroup
    o.accountId,
    "", // openClose
    0, // origin
    o.orderRef,
    o.clientId,
    o.permId,
    o.outsideRth,
    0, // hidden
    0, // discretionaryAmt
    "", // goodAfterTime
    "", // sharesAllocation
    "", // faGroup
    "", // faMethod
    "", // faPercentage
    "", // modelCode
    "", // goodTillDate
    "", // rule80A
    "", // percentOffset
    "", // settlingFirm
    0, // shortSaleSlot
    "", // designatedLocation
    -1, // exemptCode
    0, // auctionStrategy
    "", // startingPrice
    "", // stockRefPrice
    "", // delta
    "", // stockRangeLower
    "", // stockRangeUpper
    "", // displaySize
    0, // blockOrder
    0, // sweepToFill
    0, // allOrNone
    "", // minQty
    3, // ocaType
    0, // eTradeOnly
    0, // firmQuoteOnly
    "", // nbboPriceCap
    0, // parentId
    0, // triggerMethod
    "", // volatility
    0, // volatilityType
    "", // deltaNeutralOrderType (empty: no delta-neutral fields follow)
    "", // deltaNeutralAuxPrice
    0, // continuousUpdate
    0, // referencePriceType
    "", // trailStopPrice
    "", // trailingPercent
    "", // basisPoints
    "", // basisPointsType
    "", // comboLegsDescription
    0, // comboLegs count
    0, // orderComboLegs count
    0, // smartComboRoutingParams count
    "", // scaleInitLevelSize
    "", // scaleSubsLevelSize
    "", // scalePriceIncrement (empty: no scale fields follow)
    "", // hedgeType (empty: no hedgeParam)
    0, // optOutSmartRouting
    "", // clearingAccount
    "", // clearingIntent
    0, // notHeld
    0, // deltaNeutralContract present
    "", // algoStrategy (empty: no algo params)
    0, // solicited
    w ? 1 : 0, // whatIf
    o.status,
    w?.initMarginBefore ?? "",
    w?.maintMarginBefore ?? "",
    w?.equityWithLoanBefore ?? "",
    w?.initMarginChange ?? "",
    w?.maintMarginChange ?? "",
    w?.equityWithLoanChange ?? "",
    w?.initMarginAfter ?? "",
    w?.maintMarginAfter ?? "",
    w?.equityWithLoanAfter ?? "",
    w?.commission ?? "",
    w?.commission ?? "", // minCommission
    w?.commission ?? "", // maxCommission
    w?.commissionCurrency ?? "",
    w?.warningText ?? "",
    0, // randomizeSize
    0, // randomizePrice
    0, // conditions count
    "", // adjustedOrderType
    "", // triggerPrice
    "", // trailStopPrice
    "", // lmtPriceOffset
    "", // adjustedStopPrice
    "", // adjustedStopLimitPrice
    "", // adjustedTrailingAmount
    0, // adjustableTrailingUnit
    "", // softDollarTier name
    "", // softDollarTier value
    "", // softDollarTier displayName
    "", // cashQty
    0, // dontUseAutoPriceForHedge
    0, // isOmsContainer
    0, // discretionaryUpToLimitPrice
    0, // usePriceMgmtAlgo
    "", // duration
    "", // postToAts
    0, // autoCancelParent
    "", // minTradeQty
    "", // minCompeteSize
    "", // competeAgainstBestOffset
    "", // midOffsetAtWhole
    "", // midOffsetAtHalf
    "", // customerAccount
    0, // professionalCustomer
    "", // bondAccruedInterest
    0, // includeOvernight
    "", // extOperator
    "", // manualOrderIndicator
  ];
}
