// "Preview rebalance": a dry run, showing the plan it would trade and the weights it would reach.
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Plan, RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { consoleTrigger } from "./console-trigger.js";
import { newIdempotencyKey } from "./idempotency-key.js";
import { errorNotice, notice } from "./notice.js";
import { planSummary } from "./plan-summary.js";
import { routeHref } from "./route.js";
import { runEventText } from "./run-event-text.js";
import type { ViewContext } from "./view-context.js";

/** The preview page: a button that asks for a dry run and shows its plan. */
export function previewView(context: ViewContext, accountId: string): HTMLElement {
  const result = el("div", { id: "preview-result" });
  const button = el("button", { type: "button", id: "preview-button" }, "Preview rebalance");
  button.addEventListener("click", () => {
    button.disabled = true;
    result.replaceChildren(el("p", { class: "muted" }, "Planning…"));
    preview(context, accountId)
      .then(({ plan, last }) => result.replaceChildren(...outcome(accountId, plan, last)))
      .catch((error: unknown) => result.replaceChildren(errorNotice(error, context.apiUrl)))
      .finally(() => (button.disabled = false));
  });
  return el(
    "section",
    { id: "preview-view" },
    accountNav(accountId, "preview"),
    el("h1", {}, `Preview rebalance of ${accountId}`),
    el(
      "p",
      { class: "muted" },
      "A dry run: fetches the targets, reads the account and plans the orders. Nothing is placed.",
    ),
    button,
    result,
  );
}

async function preview(
  context: ViewContext,
  accountId: string,
): Promise<{ plan?: Plan; last?: RebalanceResponse }> {
  const request = {
    accountId,
    mode: ExecutionMode.DRY_RUN,
    idempotencyKey: newIdempotencyKey(),
    trigger: consoleTrigger,
  };
  return context.withApiKey(async () => {
    let plan: Plan | undefined;
    let last: RebalanceResponse | undefined;
    for await (const response of context.client.rebalance(request, { signal: context.signal })) {
      if (response.event.case === "plan") plan = response.event.value.plan;
      last = response;
    }
    return { plan, last };
  });
}

function outcome(
  accountId: string,
  plan: Plan | undefined,
  last: RebalanceResponse | undefined,
): HTMLElement[] {
  if (last === undefined) return [notice("The run ended without an answer.", "error")];
  const ending = runEventText(last);
  const kind =
    ending.kind === "completed" ? "success" : ending.kind === "failed" ? "error" : "info";
  const link = el(
    "a",
    { href: routeHref({ page: "run-detail", runId: last.runId }) },
    `Run ${last.runId}`,
  );
  const shown = [
    el("div", { "data-outcome": ending.kind }, notice(ending.text, kind)),
    el("p", {}, link),
  ];
  return plan === undefined ? shown : [...shown, planSummary(plan, accountId)];
}
