// The configured accounts with their strategy, type, state and value.
import { AccountType } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Account } from "@mesh/proto/rebalancer/v1/rebalancer";
import { el } from "./element.js";
import { errorMessage } from "./error-message.js";
import { enumLabel, formatMoney } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { routeHref } from "./route.js";
import type { ViewContext } from "./view-context.js";

/** The accounts page: one row per account; values fill in as the broker answers. */
export function accountsView(context: ViewContext): HTMLElement {
  const { client, withApiKey, signal } = context;
  return loadingPage(context, { id: "accounts-view", title: "Accounts" }, async () => {
    const response = await withApiKey(() => client.listAccounts({}, { signal }));
    const rows = response.accounts.map((account) => accountRow(context, account));
    return [
      el("p", { class: "muted" }, `The service trades ${response.tradingMode} accounts.`),
      el(
        "table",
        { id: "accounts" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", {}, "Account"),
            el("th", {}, "Strategy"),
            el("th", {}, "Type"),
            el("th", {}, "Enabled"),
            el("th", {}, "Takes part"),
            el("th", { class: "number" }, "Value"),
            el("th", { class: "number" }, "Cash"),
            el("th", {}, ""),
          ),
        ),
        el("tbody", {}, ...rows),
      ),
    ];
  });
}

function accountRow(context: ViewContext, account: Account): HTMLElement {
  const { accountId } = account;
  const value = el("td", { class: "number account-value" }, "…");
  const cash = el("td", { class: "number account-cash" }, "…");
  context
    .withApiKey(() => context.client.getAccountValue({ accountId }, { signal: context.signal }))
    .then((answer) => {
      value.textContent = formatMoney(answer.netLiquidation, answer.currency || undefined);
      cash.textContent = formatMoney(answer.cash, answer.currency || undefined);
    })
    .catch((error: unknown) => {
      value.textContent = "unavailable";
      value.title = errorMessage(error, context.apiUrl);
      cash.textContent = "—";
    });
  return el(
    "tr",
    { "data-account-id": accountId },
    el("td", {}, el("a", { href: routeHref({ page: "holdings", accountId }) }, accountId)),
    el("td", {}, account.strategy),
    el("td", {}, enumLabel(AccountType, account.type)),
    el("td", {}, account.enabled ? "yes" : "no"),
    el("td", {}, account.eligible ? "yes" : "no"),
    value,
    cash,
    el(
      "td",
      {},
      el("a", { href: routeHref({ page: "preview", accountId }) }, "Preview"),
      " · ",
      el("a", { href: routeHref({ page: "run", accountId }) }, "Live run"),
      " · ",
      el("a", { href: routeHref({ page: "runs", accountId }) }, "History"),
    ),
  );
}
