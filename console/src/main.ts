// The console's composition root: where the API is, how the key is kept and asked for, and
// which page the URL fragment shows.
import { accountsView } from "./accounts-view.js";
import { apiBaseUrl } from "./api-base-url.js";
import { askForApiKey } from "./api-key-dialog.js";
import { createApiKeyGate } from "./api-key-gate.js";
import { createApiKeyStore } from "./api-key-store.js";
import { holdingsView } from "./holdings-view.js";
import { ordersView } from "./orders-view.js";
import { previewView } from "./preview-view.js";
import { createRebalancerClient } from "./rebalancer-client.js";
import { deadLettersView } from "./dead-letters-view.js";
import { eventsView } from "./events-view.js";
import { createSubscriberClient, type SubscriberClient } from "./subscriber-client.js";
import type { SubscriberContext } from "./subscriber-context.js";
import { subscriberUrl } from "./subscriber-url.js";
import { parseRoute, type Route } from "./route.js";
import { runDetailView } from "./run-detail-view.js";
import { runView } from "./run-view.js";
import { runsView } from "./runs-view.js";
import type { ViewContext } from "./view-context.js";

const apiUrl = apiBaseUrl(document);
const keys = createApiKeyStore(sessionStorage);
const forgetKey = document.querySelector<HTMLButtonElement>("#forget-key")!;
const context = {
  apiUrl,
  client: createRebalancerClient(apiUrl, keys),
  withApiKey: createApiKeyGate(keys, async (problem) => {
    const key = await askForApiKey(problem);
    forgetKey.hidden = key === undefined;
    return key;
  }),
};

// Asked once, when a page of the subscriber's is first shown.
let subscriberClient: Promise<SubscriberClient | undefined> | undefined;
const subscriber: SubscriberContext = {
  client: () =>
    (subscriberClient ??= subscriberUrl(document, apiUrl).then((url) =>
      url === undefined ? undefined : createSubscriberClient(url, keys),
    )),
};

function page(route: Route, view: ViewContext): HTMLElement {
  switch (route.page) {
    case "accounts":
      return accountsView(view);
    case "events":
      return eventsView(view, subscriber);
    case "dead-letters":
      return deadLettersView(view, subscriber);
    case "holdings":
      return holdingsView(view, route.accountId);
    case "preview":
      return previewView(view, route.accountId);
    case "run":
      return runView(view, route.accountId);
    case "runs":
      return runsView(view, route.accountId);
    case "orders":
      return ordersView(view, route.accountId);
    case "run-detail":
      return runDetailView(view, route.runId);
  }
}

let leaving = new AbortController();
function show(): void {
  // Calls of the page being left stop; a live run goes on at the server regardless.
  leaving.abort();
  leaving = new AbortController();
  document
    .querySelector("#view")!
    .replaceChildren(page(parseRoute(location.hash), { ...context, signal: leaving.signal }));
}

document.querySelector("#api-url")!.textContent = apiUrl;
forgetKey.hidden = keys.get() === undefined;
forgetKey.addEventListener("click", () => {
  keys.clear();
  forgetKey.hidden = true;
  show();
});
window.addEventListener("hashchange", show);
show();
