// Tables of orders: planned ones (from a plan) and placed ones (at the broker).
import { OrderSide, OrderStatus, OrderType } from "@mesh/proto/rebalancer/v1/rebalancer";
import type {
  Fill,
  Order,
  PlannedOrder,
  PreflightResult,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { el } from "./element.js";
import { enumLabel, formatClock, formatMoney, formatPrice, formatQuantity } from "./format.js";

function side(value: OrderSide): HTMLElement {
  const label = enumLabel(OrderSide, value);
  return el("span", { class: `side-${label}` }, label.toUpperCase());
}

function table(headers: readonly string[], numeric: ReadonlySet<string>, rows: Node[]) {
  return el(
    "table",
    {},
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...headers.map((h) => el("th", { class: numeric.has(h) ? "number" : undefined }, h)),
      ),
    ),
    el("tbody", {}, ...rows),
  );
}

/** The orders of a plan: sells first, then buys, as the plan lists them. */
export function plannedOrdersTable(orders: readonly PlannedOrder[]): HTMLElement {
  return table(
    ["Side", "Symbol", "Shares", "Price", "Value", "Reason"],
    new Set(["Shares", "Price", "Value"]),
    orders.map((order) =>
      el(
        "tr",
        { "data-symbol": order.symbol },
        el("td", {}, side(order.side)),
        el("td", {}, order.symbol),
        el("td", { class: "number" }, formatQuantity(order.quantity)),
        el("td", { class: "number" }, formatPrice(order.price)),
        el("td", { class: "number" }, formatMoney(order.marketValue)),
        el("td", { class: "muted" }, order.reason),
      ),
    ),
  );
}

/** The broker's what-if answer for each planned order: accepted or why not, margin, commission. */
export function preflightTable(results: readonly PreflightResult[]): HTMLElement {
  return table(
    ["Side", "Symbol", "Shares", "Broker", "Initial margin change", "Commission", "Notes"],
    new Set(["Shares", "Initial margin change", "Commission"]),
    results.map((r) =>
      el(
        "tr",
        { "data-symbol": r.symbol, "data-accepted": String(r.accepted) },
        el("td", {}, side(r.side)),
        el("td", {}, r.symbol),
        el("td", { class: "number" }, formatQuantity(r.quantity)),
        el(
          "td",
          { class: r.accepted ? undefined : "refused" },
          r.accepted ? "accepted" : "refused",
        ),
        el("td", { class: "number" }, r.accepted ? formatMoney(r.initialMarginChange) : ""),
        el("td", { class: "number" }, r.accepted ? formatMoney(r.commission) : ""),
        el("td", { class: "muted" }, [r.reason, ...r.warnings].filter(Boolean).join("; ")),
      ),
    ),
  );
}

/** Orders placed at the broker, with their status and fills so far. */
export function placedOrdersTable(orders: readonly Order[]): HTMLElement {
  return table(
    ["Order", "Side", "Symbol", "Shares", "Type", "Status", "Filled", "Avg price", "Message"],
    new Set(["Shares", "Filled", "Avg price"]),
    orders.map((order) =>
      el(
        "tr",
        { "data-order-id": order.orderId, "data-status": enumLabel(OrderStatus, order.status) },
        el("td", {}, order.orderId),
        el("td", {}, side(order.side)),
        el("td", {}, order.symbol),
        el("td", { class: "number" }, formatQuantity(order.quantity)),
        el("td", {}, enumLabel(OrderType, order.orderType)),
        el("td", {}, enumLabel(OrderStatus, order.status)),
        el("td", { class: "number" }, formatQuantity(order.filledQuantity)),
        el(
          "td",
          { class: "number" },
          order.averageFillPrice ? formatPrice(order.averageFillPrice) : "—",
        ),
        el("td", { class: "muted" }, order.message),
      ),
    ),
  );
}

/** Executions, in the order they happened. */
export function fillsTable(fills: readonly Fill[]): HTMLElement {
  return table(
    ["Time", "Order", "Side", "Symbol", "Shares", "Price"],
    new Set(["Shares", "Price"]),
    fills.map((fill) =>
      el(
        "tr",
        {},
        el("td", {}, formatClock(fill.time)),
        el("td", {}, fill.orderId),
        el("td", {}, side(fill.side)),
        el("td", {}, fill.symbol),
        el("td", { class: "number" }, formatQuantity(fill.quantity)),
        el("td", { class: "number" }, formatPrice(fill.price)),
      ),
    ),
  );
}
