// Run history of an account, newest first, a page at a time (ListRuns summaries).
import { ExecutionMode, RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { enumLabel, formatCount, formatTime } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { errorNotice, notice } from "./notice.js";
import { routeHref } from "./route.js";
import type { ViewContext } from "./view-context.js";

/** Runs per page; "Older runs" fetches the next. */
export const runsPageSize = 25;

/** The history page: one row per run, each linking to its full record. */
export function runsView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "runs-view",
    title: `Runs of ${accountId}`,
    nav: accountNav(accountId, "runs"),
  };
  const page = (pageToken: string) =>
    withApiKey(() => client.listRuns({ accountId, limit: runsPageSize, pageToken }, { signal }));
  return loadingPage(context, heading, async () => {
    const first = await page("");
    if (first.runs.length === 0) return [notice("No runs yet.")];
    const body = el("tbody", {}, ...first.runs.map(runRow));
    const more = el("div", { id: "older-runs" });
    const offerMore = (token: string) => {
      if (token === "") return more.replaceChildren();
      const button = el("button", { type: "button", id: "older-runs-button" }, "Older runs");
      button.addEventListener("click", () => {
        button.disabled = true;
        page(token)
          .then((next) => {
            body.append(...next.runs.map(runRow));
            offerMore(next.nextPageToken);
          })
          .catch((error: unknown) => more.replaceChildren(errorNotice(error, context.apiUrl)));
      });
      more.replaceChildren(button);
    };
    offerMore(first.nextPageToken);
    return [
      el(
        "table",
        { id: "runs" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", {}, "Started"),
            el("th", {}, "Run"),
            el("th", {}, "Mode"),
            el("th", {}, "From"),
            el("th", {}, "Status"),
            el("th", { class: "number" }, "Orders"),
            el("th", {}, "Outcome"),
          ),
        ),
        body,
      ),
      more,
    ];
  });
}

function runRow(run: Run): HTMLElement {
  return el(
    "tr",
    { "data-run-id": run.runId },
    el("td", { class: "time" }, formatTime(run.createdAt)),
    el(
      "td",
      { class: "run-id" },
      el("a", { href: routeHref({ page: "run-detail", runId: run.runId }) }, run.runId),
    ),
    el("td", {}, enumLabel(ExecutionMode, run.mode)),
    el("td", {}, run.trigger?.source || "unknown"),
    el("td", { class: "run-status" }, enumLabel(RunStatus, run.status)),
    el("td", { class: "number run-orders" }, orderCounts(run)),
    el("td", { class: "muted" }, run.message),
  );
}

/** A dry run's planned orders; a live run's placed and filled ones. */
function orderCounts(run: Run): string {
  const counts = run.counts;
  if (counts === undefined) return "";
  if (run.mode !== ExecutionMode.LIVE) return `${formatCount(counts.plannedOrders)} planned`;
  return `${formatCount(counts.placedOrders)} placed, ${formatCount(counts.filledOrders)} filled`;
}
