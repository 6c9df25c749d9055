// "Live run": starts a rebalance that places orders, after a confirmation naming the account and
// the mode, and renders its progress stream event by event as the events arrive.
import { AccountType, ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Order, RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { confirmLiveRun } from "./confirm-live-run.js";
import { consoleTrigger } from "./console-trigger.js";
import { el } from "./element.js";
import { enumLabel, formatClock } from "./format.js";
import { newIdempotencyKey } from "./idempotency-key.js";
import { loadingPage } from "./loading-page.js";
import { errorNotice, notice } from "./notice.js";
import { placedOrdersTable } from "./orders-table.js";
import { routeHref } from "./route.js";
import { runEventText } from "./run-event-text.js";
import type { ViewContext } from "./view-context.js";

/** The live run page. */
export function runView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "run-view",
    title: `Live run of ${accountId}`,
    nav: accountNav(accountId, "run"),
  };
  return loadingPage(context, heading, async () => {
    const { accounts, tradingMode } = await withApiKey(() => client.listAccounts({}, { signal }));
    const account = accounts.find((a) => a.accountId === accountId);
    if (account === undefined) {
      return [notice(`Account ${accountId} is not configured.`, "error")];
    }
    const accountType = enumLabel(AccountType, account.type);
    const status = el("div", { id: "run-status" });
    const elsewhere = el(
      "p",
      { class: "muted", id: "live-run-elsewhere" },
      "Elsewhere: REST POST /rebalance/" +
        accountId +
        ' with {"execution_mode":"rebalance"}; ' +
        "gRPC or Connect Rebalance with mode EXECUTION_MODE_LIVE. Without a mode it is a dry run.",
    );
    const events = el("ol", { id: "run-events", class: "events" });
    const orders = el("div", { id: "run-orders" });
    const start = el(
      "button",
      { type: "button", id: "start-live-run", class: "danger", disabled: !account.eligible },
      "Start live run…",
    );
    start.addEventListener("click", () => {
      void confirmLiveRun(context, { accountId, accountType, tradingMode }).then((confirmed) => {
        if (!confirmed) {
          status.replaceChildren(notice("Live run cancelled: nothing was sent."));
          return;
        }
        start.disabled = true;
        events.replaceChildren();
        orders.replaceChildren();
        status.replaceChildren(notice("Running…"));
        follow(context, accountId, { status, events, orders }).finally(() => {
          start.disabled = false;
        });
      });
    });
    return [
      el(
        "p",
        { class: "muted" },
        `Places orders at the broker: ${accountId} is a ${accountType} account and the service trades ${tradingMode}.`,
      ),
      !account.eligible &&
        notice(
          `${accountId} does not take part under the service's trading mode (${tradingMode}), or is disabled.`,
          "error",
        ),
      start,
      elsewhere,
      status,
      el("h2", {}, "Events"),
      events,
      el("h2", {}, "Orders"),
      orders,
    ];
  });
}

/** Where a run's progress is drawn. */
interface RunDisplay {
  status: HTMLElement;
  events: HTMLElement;
  orders: HTMLElement;
}

async function follow(context: ViewContext, accountId: string, display: RunDisplay) {
  const request = {
    accountId,
    mode: ExecutionMode.LIVE,
    idempotencyKey: newIdempotencyKey(),
    trigger: consoleTrigger,
  };
  const placed = new Map<string, Order>();
  try {
    await context.withApiKey(async () => {
      for await (const response of context.client.rebalance(request, { signal: context.signal })) {
        display.events.append(eventItem(response));
        const order = orderOf(response);
        if (order !== undefined) {
          placed.set(order.orderId, order);
          display.orders.replaceChildren(placedOrdersTable([...placed.values()]));
        }
        const ending = ended(response);
        if (ending !== undefined) display.status.replaceChildren(ending);
      }
    });
  } catch (error) {
    display.status.replaceChildren(errorNotice(error, context.apiUrl));
  }
}

function eventItem(response: RebalanceResponse): HTMLElement {
  const { kind, text } = runEventText(response);
  return el(
    "li",
    { "data-sequence": response.sequence, "data-kind": response.event.case ?? "unknown" },
    el("span", { class: "sequence" }, `#${response.sequence}`),
    el("span", { class: "time" }, formatClock(response.time)),
    el("span", { class: "kind" }, response.replayed ? `${kind} (replayed)` : kind),
    el("span", { class: "text" }, text),
  );
}

/** The order an event carries, after the change it reports. */
function orderOf(response: RebalanceResponse): Order | undefined {
  const { event } = response;
  if (event.case === "orderSubmitted" || event.case === "orderUpdated") return event.value.order;
  return undefined;
}

/** The status box for a final event; undefined for the others. */
function ended(response: RebalanceResponse): HTMLElement | undefined {
  const kind = response.event.case;
  if (kind !== "completed" && kind !== "failed" && kind !== "postponed") return undefined;
  const { text } = runEventText(response);
  return el(
    "div",
    { "data-outcome": kind },
    notice(text, kind === "completed" ? "success" : kind === "failed" ? "error" : "info"),
    el(
      "a",
      { href: routeHref({ page: "run-detail", runId: response.runId }) },
      `Run ${response.runId}`,
    ),
  );
}
