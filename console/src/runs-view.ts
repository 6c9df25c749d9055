// Run history of an account, newest first (ListRuns).
import { ExecutionMode, RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { enumLabel, formatTime } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { notice } from "./notice.js";
import { routeHref } from "./route.js";
import type { ViewContext } from "./view-context.js";

/** The history page: one row per run, each linking to its full record. */
export function runsView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "runs-view",
    title: `Runs of ${accountId}`,
    nav: accountNav(accountId, "runs"),
  };
  return loadingPage(context, heading, async () => {
    const { runs } = await withApiKey(() => client.listRuns({ accountId, limit: 50 }, { signal }));
    if (runs.length === 0) return [notice("No runs yet.")];
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
        el(
          "tbody",
          {},
          ...runs.map((run) =>
            el(
              "tr",
              { "data-run-id": run.runId },
              el("td", {}, formatTime(run.createdAt)),
              el(
                "td",
                {},
                el("a", { href: routeHref({ page: "run-detail", runId: run.runId }) }, run.runId),
              ),
              el("td", {}, enumLabel(ExecutionMode, run.mode)),
              el("td", {}, run.trigger?.source ?? ""),
              el("td", { class: "run-status" }, enumLabel(RunStatus, run.status)),
              el("td", { class: "number" }, run.orders.length),
              el("td", { class: "muted" }, run.message),
            ),
          ),
        ),
      ),
    ];
  });
}
