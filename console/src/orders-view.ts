// "Open orders": what is working at the broker for an account (ListOpenOrders), and cancelling it
// all (CancelOpenOrders) after the same typed confirmation as a live run.
import { AccountType } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Order } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { enumLabel, formatCount } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { errorNotice, notice } from "./notice.js";
import { placedOrdersTable } from "./orders-table.js";
import { typedConfirmation } from "./typed-confirmation.js";
import type { ViewContext } from "./view-context.js";

/** The open orders page of one account. */
export function ordersView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "orders-view",
    title: `Open orders of ${accountId}`,
    nav: accountNav(accountId, "orders"),
  };
  return loadingPage(context, heading, async () => {
    const [{ accounts, tradingMode }, { orders }] = await Promise.all([
      withApiKey(() => client.listAccounts({}, { signal })),
      withApiKey(() => client.listOpenOrders({ accountId }, { signal })),
    ]);
    const account = accounts.find((a) => a.accountId === accountId);
    if (account === undefined) return [notice(`Account ${accountId} is not configured.`, "error")];
    const accountType = enumLabel(AccountType, account.type);
    // The server refuses a cancel under the other trading mode: say so before anyone tries.
    const guarded = accountType !== tradingMode;
    const outcome = el("div", { id: "cancel-outcome" });
    const cancel = el(
      "button",
      { type: "button", id: "cancel-open-orders", class: "danger" },
      "Cancel all open orders…",
    );
    cancel.disabled = orders.length === 0 || guarded;
    cancel.addEventListener("click", () => {
      void confirmCancel(accountId, orders).then(async (confirmed) => {
        if (!confirmed) {
          outcome.replaceChildren(notice("Nothing was cancelled."));
          return;
        }
        cancel.disabled = true;
        outcome.replaceChildren(notice("Cancelling…"));
        try {
          const answer = await withApiKey(() => client.cancelOpenOrders({ accountId }, { signal }));
          outcome.replaceChildren(
            el(
              "div",
              { "data-cancelled": answer.cancelled.length },
              notice(
                `${formatCount(answer.cancelled.length)} cancelled; ` +
                  `${formatCount(answer.remaining.length)} still working.`,
                answer.remaining.length === 0 ? "success" : "error",
              ),
              answer.cancelled.length > 0 && el("h2", {}, "Cancelled"),
              answer.cancelled.length > 0 && placedOrdersTable(answer.cancelled),
              answer.remaining.length > 0 && el("h2", {}, "Still working"),
              answer.remaining.length > 0 && placedOrdersTable(answer.remaining),
            ),
          );
          working.replaceChildren(ordersList(answer.remaining));
        } catch (error) {
          outcome.replaceChildren(errorNotice(error, context.apiUrl));
          cancel.disabled = false;
        }
      });
    });
    const working = el("div", { id: "open-orders" }, ordersList(orders));
    return [
      el(
        "p",
        { class: "muted" },
        `Orders working at the broker for ${accountId}, placed by runs or by anyone else. ` +
          "Elsewhere: GET /accounts/" +
          accountId +
          "/orders and POST /accounts/" +
          accountId +
          "/orders:cancel; gRPC or Connect ListOpenOrders and CancelOpenOrders.",
      ),
      guarded &&
        notice(
          `${accountId} is a ${accountType} account and the service trades ${tradingMode}: its orders cannot be cancelled here.`,
          "error",
        ),
      working,
      cancel,
      outcome,
    ];
  });
}

function ordersList(orders: readonly Order[]): HTMLElement {
  return orders.length === 0
    ? el("p", { id: "no-open-orders" }, "No open orders.")
    : placedOrdersTable(orders);
}

function confirmCancel(accountId: string, orders: readonly Order[]): Promise<boolean> {
  const count = formatCount(orders.length);
  return typedConfirmation({
    id: "confirm-cancel-orders",
    title: `Cancel the open orders of ${accountId}`,
    text:
      `This cancels all ${count} orders working at the broker for account ${accountId} ` +
      "and waits until the broker confirms each.",
    body: placedOrdersTable(orders),
    typed: accountId,
    buttonLabel: `Cancel ${count} orders on ${accountId}`,
  });
}
