// A fresh preview of what a rebalance would trade: a dry run (recorded like any other run), shown
// as its outcome, a link to its record and its plan.
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Plan, RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { consoleTrigger } from "./console-trigger.js";
import { el } from "./element.js";
import { newIdempotencyKey } from "./idempotency-key.js";
import { notice } from "./notice.js";
import { planSummary } from "./plan-summary.js";
import { routeHref } from "./route.js";
import { runEventText } from "./run-event-text.js";
import type { ViewContext } from "./view-context.js";

/** Runs a dry run of the account and answers what to show of it; rejects when the call fails. */
export async function planPreview(context: ViewContext, accountId: string): Promise<HTMLElement[]> {
  const request = {
    accountId,
    mode: ExecutionMode.DRY_RUN,
    idempotencyKey: newIdempotencyKey(),
    trigger: consoleTrigger,
  };
  const { plan, last } = await context.withApiKey(async () => {
    let plan: Plan | undefined;
    let last: RebalanceResponse | undefined;
    for await (const response of context.client.rebalance(request, { signal: context.signal })) {
      if (response.event.case === "plan") plan = response.event.value.plan;
      last = response;
    }
    return { plan, last };
  });
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
