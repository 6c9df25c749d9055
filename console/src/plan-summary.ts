// A plan as a person reads it: the orders, the weights before and after, cash and warnings.
import type { Plan, Preflight } from "@mesh/proto/rebalancer/v1/rebalancer";
import { el } from "./element.js";
import { formatCount, formatMoney } from "./format.js";
import { plannedOrdersTable, preflightTable } from "./orders-table.js";
import { weightChart } from "./weight-chart.js";

/** The parts of a plan; `accountId` names the chart. */
export function planSummary(plan: Plan, accountId: string): HTMLElement {
  return el(
    "div",
    { class: "plan" },
    el("h2", {}, "Planned orders"),
    plan.orders.length === 0
      ? el("p", { id: "no-orders" }, "No orders: every holding is within its drift band.")
      : el("div", { id: "planned-orders" }, plannedOrdersTable(plan.orders)),
    plan.warnings.length > 0 &&
      el("ul", { class: "warnings" }, ...plan.warnings.map((warning) => el("li", {}, warning))),
    plan.preflight && preflightSection(plan.preflight),
    el(
      "p",
      {},
      `Cash after the orders: ${formatMoney(plan.projectedCash)}, of which ` +
        `${formatMoney(plan.reservedCash)} is the reserve.`,
    ),
    el("h2", {}, "Weights"),
    weightChart(
      plan.weights.map((w) => ({
        symbol: w.symbol,
        current: w.currentWeight,
        target: w.targetWeight,
        projected: w.projectedWeight,
      })),
      `Current, target and projected weights of ${accountId}`,
    ),
  );
}

/** What the broker said of every planned order before anything was placed. */
function preflightSection(preflight: Preflight): HTMLElement {
  if (!preflight.checked) {
    return el(
      "p",
      { id: "preflight", class: "muted" },
      `Not checked with the broker: ${preflight.skippedReason}`,
    );
  }
  const refused = preflight.results.filter((r) => !r.accepted).length;
  return el(
    "div",
    { id: "preflight" },
    el("h2", {}, "Broker preflight"),
    el(
      "p",
      {},
      refused > 0
        ? `The broker would refuse ${formatCount(refused)} of ${formatCount(preflight.results.length)} orders: a live run stops before placing any.`
        : `The broker would accept all ${formatCount(preflight.results.length)} orders. The buys need ` +
            `${formatMoney(preflight.buysRequired)} of ${formatMoney(preflight.fundsForBuys)} ` +
            `available after the sells and the reserve${preflight.buysScaled ? " (scaled down to fit)" : ""}.`,
    ),
    preflightTable(preflight.results),
  );
}
