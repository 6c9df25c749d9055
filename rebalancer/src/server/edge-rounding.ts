// Rounding at the API's edge, as the contract's header promises: money to cents, weights to 6
// decimal places, prices and quantities as the broker gave them. Applied to every message the
// service sends, on every protocol (REST included), so no handler or recorder has to remember it.
import {
  clone,
  ScalarType,
  type DescField,
  type DescMessage,
  type Message,
} from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { roundMoney, roundWeight } from "../planning/index.js";

/** How a `double` of the contract is sent. */
export type EdgeRounding = "money" | "weight" | "as-given";

/** The weights of the contract, by message and field name. */
const weights = new Set([
  "Position.weight",
  "Target.weight",
  "ProjectedWeight.current_weight",
  "ProjectedWeight.target_weight",
  "ProjectedWeight.projected_weight",
]);

/** Prices, share quantities and configured percentages: sent exactly as given. */
const asGiven = new Set([
  "Account.cash_reserve_percent",
  "GetTargetsResponse.cash_reserve_percent",
  "Position.quantity",
  "Position.price",
  "Position.average_cost",
  "PlannedOrder.price",
  "Order.limit_price",
  "Order.filled_quantity",
  "Order.average_fill_price",
  "Fill.quantity",
  "Fill.price",
]);

/** Money: values, cash, margins and commissions, in the account's currency. */
const money = new Set([
  "Position.market_value",
  "PlannedOrder.market_value",
  "Plan.projected_cash",
  "Plan.reserved_cash",
  "Preflight.available_funds",
  "Preflight.funds_for_buys",
  "Preflight.buys_required",
  "PreflightResult.initial_margin_change",
  "PreflightResult.maintenance_margin_change",
  "PreflightResult.equity_with_loan_change",
  "PreflightResult.commission",
  "Run.net_liquidation",
  "Run.cash",
  "Run.cash_after_sells",
  "Run.cash_after_run",
  "GetPositionsResponse.net_liquidation",
  "GetAccountValueResponse.net_liquidation",
  "GetAccountValueResponse.cash",
  "GetAccountValueResponse.available_funds",
  "PlanReady.net_liquidation",
  "PlanReady.cash",
]);

/**
 * How a `double` field is sent. Every double of the contract is listed in one of the sets above
 * (a spec checks it); one that is not is sent as given rather than rounded by guess.
 */
export function edgeRounding(field: DescField): EdgeRounding {
  const name = `${field.parent.name}.${field.name}`;
  if (money.has(name)) return "money";
  if (weights.has(name)) return "weight";
  return "as-given";
}

/** Whether the contract's double field is listed in one of the sets: for the spec. */
export function isClassified(field: DescField): boolean {
  const name = `${field.parent.name}.${field.name}`;
  return money.has(name) || weights.has(name) || asGiven.has(name);
}

/** A copy of the message with its money and weights rounded for the wire. */
export function roundedForTheWire<T extends Message>(schema: DescMessage, message: T): T {
  const copy = clone(schema, message) as T;
  roundFields(reflect(schema, copy));
  return copy;
}

/** The server interceptor that rounds every response message (unary and streamed). */
export function createEdgeRoundingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const res = await next(req);
    const output = req.method.output;
    if (!res.stream) return { ...res, message: roundedForTheWire(output, res.message) };
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        for await (const message of messages) yield roundedForTheWire(output, message);
      })(),
    };
  };
}

function round(field: DescField, value: number): number {
  switch (edgeRounding(field)) {
    case "money":
      return roundMoney(value);
    case "weight":
      return roundWeight(value);
    case "as-given":
      return value;
  }
}

function roundFields(message: ReflectMessage): void {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.DOUBLE) {
          message.set(field, round(field, message.get(field) as number));
        }
        break;
      case "message":
        roundFields(message.get(field));
        break;
      case "list": {
        const list = message.get(field);
        for (let i = 0; i < list.size; i++) {
          if (field.listKind === "message") roundFields(list.get(i) as ReflectMessage);
          else if (field.scalar === ScalarType.DOUBLE)
            list.set(i, round(field, list.get(i) as number));
        }
        break;
      }
      case "map":
        // The contract has no maps of money or weights.
        break;
    }
  }
}
