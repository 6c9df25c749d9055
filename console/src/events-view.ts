// The subscriber's inbox, newest first: every event it took in, per account, with where its
// delivery stands and the run it became; above it, the realtime gaps (messages lost for good,
// or still being read from history).
import { EntryState, type Entry } from "@mesh/proto/subscriber/v1/subscriber";
import { el } from "./element.js";
import { enumLabel, formatCount, formatTime } from "./format.js";
import { eventsNav } from "./events-nav.js";
import { gapsPanel } from "./gaps-panel.js";
import { loadingPage } from "./loading-page.js";
import { errorNotice, notice } from "./notice.js";
import { routeHref } from "./route.js";
import type { SubscriberClient } from "./subscriber-client.js";
import type { SubscriberContext } from "./subscriber-context.js";
import { subscriberNotConfigured } from "./subscriber-not-configured.js";
import type { ViewContext } from "./view-context.js";

/** Entries per page; "Older events" fetches the next. */
export const entriesPageSize = 50;

const shownStates = [
  EntryState.PENDING,
  EntryState.IN_FLIGHT,
  EntryState.DONE,
  EntryState.DEAD,
  EntryState.REJECTED,
  EntryState.DISCARDED,
];

/**
 * The Events page: the gaps an operator should know of, then one row per event and account,
 * filtered by state when asked.
 */
export function eventsView(context: ViewContext, subscriber: SubscriberContext): HTMLElement {
  const heading = { id: "events-view", title: "Events", nav: eventsNav("events") };
  return loadingPage(context, heading, async () => {
    const client = await subscriber.client();
    if (client === undefined) return [subscriberNotConfigured()];
    const gaps = await gapsPanel(context, client);
    const filter = el(
      "select",
      { id: "events-state", "aria-label": "state" },
      el("option", { value: String(EntryState.UNSPECIFIED) }, "every state"),
      ...shownStates.map((state) =>
        el("option", { value: String(state) }, enumLabel(EntryState, state)),
      ),
    );
    const list = el("div", { id: "events-list" });
    const show = () => {
      list.setAttribute("aria-busy", "true");
      entriesTable(context, client, Number(filter.value) as EntryState)
        .then((shown) => list.replaceChildren(...shown))
        .catch((error: unknown) => list.replaceChildren(errorNotice(error, context.apiUrl)))
        .finally(() => list.setAttribute("aria-busy", "false"));
    };
    filter.addEventListener("change", show);
    list.replaceChildren(...(await entriesTable(context, client, EntryState.UNSPECIFIED)));
    return [...gaps, el("label", { class: "filter" }, "Show ", filter), list];
  });
}

async function entriesTable(
  context: ViewContext,
  client: SubscriberClient,
  state: EntryState,
): Promise<HTMLElement[]> {
  const { withApiKey, signal } = context;
  const page = (pageToken: string) =>
    withApiKey(() =>
      client.listEntries({ state, pageSize: entriesPageSize, pageToken }, { signal }),
    );
  const first = await page("");
  if (first.entries.length === 0) {
    return [
      notice(state === EntryState.UNSPECIFIED ? "No events yet." : "No events in this state."),
    ];
  }
  const body = el("tbody", {}, ...first.entries.map(entryRow));
  const more = el("div", { id: "older-events" });
  const offerMore = (token: string) => {
    if (token === "") return more.replaceChildren();
    const button = el("button", { type: "button", id: "older-events-button" }, "Older events");
    button.addEventListener("click", () => {
      button.disabled = true;
      page(token)
        .then((next) => {
          body.append(...next.entries.map(entryRow));
          offerMore(next.nextPageToken);
        })
        .catch((error: unknown) => more.replaceChildren(errorNotice(error, context.apiUrl)));
    });
    more.replaceChildren(button);
  };
  offerMore(first.nextPageToken);
  return [
    el(
      "table",
      { id: "events" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", {}, "Received"),
          el("th", {}, "Event"),
          el("th", {}, "Channel"),
          el("th", {}, "Account"),
          el("th", {}, "State"),
          el("th", { class: "number" }, "Attempts"),
          el("th", {}, "Outcome"),
          el("th", {}, "Run"),
        ),
      ),
      body,
    ),
    more,
  ];
}

function entryRow(entry: Entry): HTMLElement {
  return el(
    "tr",
    { "data-entry-id": String(entry.id) },
    el("td", { class: "time" }, formatTime(entry.receivedAt)),
    el("td", { class: "event-key" }, entry.eventKey, entry.command ? ` (${entry.command})` : ""),
    el("td", {}, entry.channel),
    el(
      "td",
      { class: "account" },
      entry.accountId
        ? el(
            "a",
            { href: routeHref({ page: "runs", accountId: entry.accountId }) },
            entry.accountId,
          )
        : "—",
    ),
    el("td", { class: "entry-state" }, enumLabel(EntryState, entry.state)),
    el("td", { class: "number" }, formatCount(entry.attempts)),
    el("td", { class: "muted" }, entry.outcome || entry.reason),
    el(
      "td",
      { class: "run-id" },
      entry.runId
        ? el("a", { href: routeHref({ page: "run-detail", runId: entry.runId }) }, entry.runId)
        : "",
    ),
  );
}
