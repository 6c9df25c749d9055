// Run history of an account, newest first, a page at a time (ListRuns summaries), kept up to
// date live through WatchRuns.
import { ExecutionMode, RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Run, WatchRunsResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { enumLabel, formatCount, formatTime } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { errorMessage } from "./error-message.js";
import { followRuns, type FollowState } from "./follow-runs.js";
import { liveRows } from "./live-rows.js";
import { errorNotice, notice } from "./notice.js";
import { routeHref } from "./route.js";
import type { ViewContext } from "./view-context.js";

/** Runs per page; "Older runs" fetches the next. */
export const runsPageSize = 25;

/**
 * The history page: one row per run, each linking to its full record. It follows WatchRuns from
 * before the first page is listed, so a run started anywhere (the subscriber, another tab, a
 * tool) appears and its row keeps up as it goes, without a reload.
 */
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
    const body = el("tbody", {});
    const empty = notice("No runs yet.");
    const live = el("p", { id: "runs-live", class: "muted", "data-state": "connecting" });
    const rowOf = (runId: string) => [...body.rows].find((row) => row.dataset["runId"] === runId);
    /** A run's row as it stands now: replaced in place, or the newest on top. */
    const show = (run: Run) => {
      const row = runRow(run);
      const shown = rowOf(run.runId);
      if (shown) shown.replaceWith(row);
      else body.prepend(row);
      empty.remove();
    };
    const refresh = liveRows(
      (runId) => withApiKey(() => client.getRun({ runId }, { signal })),
      show,
    );
    const follower = {
      onEvent: (response: WatchRunsResponse) => refresh(response.runId),
      onState(state: FollowState) {
        live.dataset["state"] = state;
        live.textContent =
          state === "live" ? "Live: new runs appear as they start." : "Reconnecting…";
      },
    };
    // The history is still worth showing when it cannot be followed (e.g. an older rebalancer).
    await followRuns(context, [accountId], follower).catch((error: unknown) => {
      live.dataset["state"] = "off";
      live.textContent = `Not live (reload to see new runs): ${errorMessage(error, context.apiUrl)}`;
    });
    const first = await page("");
    // A run the watch has shown already is newer than this page's copy of it.
    const listed = (runs: Run[]) => runs.filter((run) => !rowOf(run.runId)).map(runRow);
    body.append(...listed(first.runs));
    const more = el("div", { id: "older-runs" });
    const offerMore = (token: string) => {
      if (token === "") return more.replaceChildren();
      const button = el("button", { type: "button", id: "older-runs-button" }, "Older runs");
      button.addEventListener("click", () => {
        button.disabled = true;
        page(token)
          .then((next) => {
            body.append(...listed(next.runs));
            offerMore(next.nextPageToken);
          })
          .catch((error: unknown) => more.replaceChildren(errorNotice(error, context.apiUrl)));
      });
      more.replaceChildren(button);
    };
    offerMore(first.nextPageToken);
    return [
      live,
      body.rows.length === 0 ? empty : null,
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
