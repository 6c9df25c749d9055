// The console's pages live in the URL fragment, so a page can be bookmarked and reloaded and the
// server needs to serve only index.html.

/** A page of the console. */
export type Route =
  | { page: "accounts" }
  | { page: "events" | "dead-letters" }
  | { page: "holdings" | "preview" | "run" | "runs" | "orders"; accountId: string }
  | { page: "run-detail"; runId: string };

const accountPages = new Set(["holdings", "preview", "run", "runs", "orders"]);

/** The page a fragment such as "#/accounts/DU1000001/preview" names; the accounts otherwise. */
export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((part) => decodeURIComponent(part));
  if (parts[0] === "accounts" && parts.length === 3 && accountPages.has(parts[2]!)) {
    return { page: parts[2] as "holdings", accountId: parts[1]! };
  }
  if ((parts[0] === "events" || parts[0] === "dead-letters") && parts.length === 1) {
    return { page: parts[0] };
  }
  if (parts[0] === "runs" && parts.length === 2) {
    return { page: "run-detail", runId: parts[1]! };
  }
  return { page: "accounts" };
}

/** The fragment of a page, for links. */
export function routeHref(route: Route): string {
  switch (route.page) {
    case "accounts":
      return "#/accounts";
    case "events":
    case "dead-letters":
      return `#/${route.page}`;
    case "run-detail":
      return `#/runs/${encodeURIComponent(route.runId)}`;
    default:
      return `#/accounts/${encodeURIComponent(route.accountId)}/${route.page}`;
  }
}
