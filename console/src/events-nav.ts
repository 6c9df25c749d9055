import { el } from "./element.js";
import { routeHref } from "./route.js";

const pages = [
  ["events", "Events"],
  ["dead-letters", "Dead letters"],
] as const;

/** The links between the subscriber's pages; the current one is marked. */
export function eventsNav(current: "events" | "dead-letters"): HTMLElement {
  return el(
    "nav",
    { class: "account-nav", "aria-label": "subscriber" },
    el("a", { href: routeHref({ page: "accounts" }) }, "← Accounts"),
    ...pages.map(([page, label]) =>
      el(
        "a",
        { href: routeHref({ page }), "aria-current": page === current ? "page" : undefined },
        label,
      ),
    ),
  );
}
