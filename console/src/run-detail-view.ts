// The full audit record of one run (GetRun).
import { ExecutionMode, FailureReason, RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { enumLabel, formatMoney, formatTime } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { fillsTable, placedOrdersTable } from "./orders-table.js";
import { planSummary } from "./plan-summary.js";
import type { ViewContext } from "./view-context.js";

/** The page of one run: its facts, plan, orders and fills. */
export function runDetailView(context: ViewContext, runId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  // The account's navigation goes above the title, as on the other pages, once the run names it.
  const nav = el("div", { class: "nav-slot" });
  const heading = { id: "run-detail-view", title: `Run ${runId}`, nav };
  return loadingPage(context, heading, async () => {
    const { run } = await withApiKey(() => client.getRun({ runId }, { signal }));
    if (run === undefined) throw new Error(`run ${runId} came back empty`);
    nav.replaceChildren(accountNav(run.accountId, "run-detail"));
    return [
      facts(run),
      run.plan && planSummary(run.plan, run.accountId),
      el("h2", {}, "Orders placed"),
      run.orders.length === 0
        ? el("p", { class: "muted" }, "None.")
        : placedOrdersTable(run.orders),
      el("h2", {}, "Fills"),
      run.fills.length === 0 ? el("p", { class: "muted" }, "None.") : fillsTable(run.fills),
    ];
  });
}

function facts(run: Run): HTMLElement {
  const entries: [string, string][] = [
    ["Account", run.accountId],
    ["Mode", enumLabel(ExecutionMode, run.mode)],
    ["Status", enumLabel(RunStatus, run.status)],
    ["Outcome", run.message],
    ["Started", formatTime(run.createdAt)],
    ["Finished", formatTime(run.finishedAt)],
    ["From", [run.trigger?.source || "unknown", run.trigger?.channel].filter(Boolean).join(", ")],
    ["Idempotency key", run.idempotencyKey],
    ["Net liquidation before", formatMoney(run.netLiquidation)],
    ["Cash before", formatMoney(run.cash)],
  ];
  // Only what the run got to: a dry run never sells, a failed run may stop before the buys.
  if (run.cashAfterSells !== undefined) {
    entries.push(["Cash after sells", formatMoney(run.cashAfterSells)]);
  }
  if (run.cashAfterRun !== undefined)
    entries.push(["Cash after run", formatMoney(run.cashAfterRun)]);
  if (run.failureReason) entries.push(["Failure", enumLabel(FailureReason, run.failureReason)]);
  if (run.nextAttemptAt) entries.push(["Next attempt", formatTime(run.nextAttemptAt)]);
  return el(
    "dl",
    { class: "facts", id: "run-facts" },
    ...entries.flatMap(([term, value]) => [
      el("dt", {}, term),
      el("dd", { "data-fact": term }, value),
    ]),
  );
}
