import { el } from "./element.js";
import { routeHref, type Route } from "./route.js";

const pages = [
  ["holdings", "Holdings"],
  ["preview", "Preview rebalance"],
  ["run", "Live run"],
  ["runs", "Run history"],
  ["orders", "Open orders"],
] as const;

/** The links between one account's pages; the current one is marked. */
export function accountNav(accountId: string, current: Route["page"]): HTMLElement {
  return el(
    "nav",
    { class: "account-nav", "aria-label": `account ${accountId}` },
    el("a", { href: routeHref({ page: "accounts" }) }, "← Accounts"),
    ...pages.map(([page, label]) =>
      el(
        "a",
        {
          href: routeHref({ page, accountId }),
          "aria-current": page === current ? "page" : undefined,
        },
        label,
      ),
    ),
  );
}
