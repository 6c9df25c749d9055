// The subscriber's dead letters, each with the reason it was given up on, and the two things an
// operator does about one: re-drive it (a new run, which may trade) or discard it for good.
import type { Entry } from "@mesh/proto/subscriber/v1/subscriber";
import { el } from "./element.js";
import { formatCount, formatTime } from "./format.js";
import { eventsNav } from "./events-nav.js";
import { loadingPage } from "./loading-page.js";
import { errorNotice, notice } from "./notice.js";
import type { SubscriberClient } from "./subscriber-client.js";
import type { SubscriberContext } from "./subscriber-context.js";
import { subscriberNotConfigured } from "./subscriber-not-configured.js";
import { typedConfirmation } from "./typed-confirmation.js";
import type { ViewContext } from "./view-context.js";

/** Dead letters per page; "Older dead letters" fetches the next. */
export const deadLettersPageSize = 50;

/** The Dead letters page: one row per dead entry, with Re-drive and Discard. */
export function deadLettersView(context: ViewContext, subscriber: SubscriberContext): HTMLElement {
  const heading = {
    id: "dead-letters-view",
    title: "Dead letters",
    nav: eventsNav("dead-letters"),
  };
  return loadingPage(context, heading, async () => {
    const client = await subscriber.client();
    if (client === undefined) return [subscriberNotConfigured()];
    const { withApiKey, signal } = context;
    const page = (pageToken: string) =>
      withApiKey(() =>
        client.listDeadLetters({ pageSize: deadLettersPageSize, pageToken }, { signal }),
      );
    const first = await page("");
    if (first.deadLetters.length === 0) return [notice("No dead letters.")];
    const result = el("div", { id: "dead-letter-result", "aria-live": "polite" });
    const row = (entry: Entry) => deadLetterRow(context, client, entry, result);
    const body = el("tbody", {}, ...first.deadLetters.map(row));
    const more = el("div", { id: "older-dead-letters" });
    const offerMore = (token: string) => {
      if (token === "") return more.replaceChildren();
      const button = el(
        "button",
        { type: "button", id: "older-dead-letters-button" },
        "Older dead letters",
      );
      button.addEventListener("click", () => {
        button.disabled = true;
        page(token)
          .then((next) => {
            body.append(...next.deadLetters.map(row));
            offerMore(next.nextPageToken);
          })
          .catch((error: unknown) => more.replaceChildren(errorNotice(error, context.apiUrl)));
      });
      more.replaceChildren(button);
    };
    offerMore(first.nextPageToken);
    return [
      result,
      el(
        "table",
        { id: "dead-letters" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", {}, "Given up"),
            el("th", {}, "Event"),
            el("th", {}, "Channel"),
            el("th", {}, "Account"),
            el("th", { class: "number" }, "Attempts"),
            el("th", {}, "Reason"),
            el("th", {}, ""),
          ),
        ),
        body,
      ),
      more,
    ];
  });
}

function deadLetterRow(
  context: ViewContext,
  client: SubscriberClient,
  entry: Entry,
  result: HTMLElement,
): HTMLElement {
  const { withApiKey } = context;
  const { accountId, eventKey, id } = entry;
  const redrive = el("button", { type: "button", class: "danger redrive" }, "Re-drive");
  const discard = el("button", { type: "button", class: "discard" }, "Discard");
  const row = el(
    "tr",
    { "data-entry-id": String(id) },
    el("td", { class: "time" }, formatTime(entry.updatedAt)),
    el("td", { class: "event-key" }, eventKey, entry.command ? ` (${entry.command})` : ""),
    el("td", {}, entry.channel),
    el("td", { class: "account" }, accountId),
    el("td", { class: "number" }, formatCount(entry.attempts)),
    el("td", { class: "reason" }, entry.reason),
    el("td", { class: "actions" }, redrive, discard),
  );
  /** Asks as for a live run, then acts; the row goes once the subscriber did it. */
  const act = async (confirmed: Promise<boolean>, call: () => Promise<unknown>, done: string) => {
    if (!(await confirmed)) return;
    redrive.disabled = discard.disabled = true;
    try {
      await withApiKey(call);
      row.remove();
      result.replaceChildren(notice(done, "success"));
    } catch (error) {
      redrive.disabled = discard.disabled = false;
      result.replaceChildren(errorNotice(error, context.apiUrl));
    }
  };
  redrive.addEventListener("click", () => {
    void act(
      typedConfirmation({
        id: "confirm-redrive",
        title: `Re-drive event ${eventKey} on ${accountId}`,
        text:
          `This sends event ${eventKey} (${entry.command || "no command"}) back to the ` +
          `rebalancer as a new run on account ${accountId}, which may place orders at the ` +
          `broker. It was given up on: ${entry.reason}`,
        typed: accountId,
        buttonLabel: `Re-drive to ${accountId}`,
      }),
      () => client.redriveDeadLetter({ entryId: id }),
      `Event ${eventKey} on ${accountId} is pending again as a new run: see Events.`,
    );
  });
  discard.addEventListener("click", () => {
    void act(
      typedConfirmation({
        id: "confirm-discard",
        title: `Discard event ${eventKey} on ${accountId}`,
        text:
          `Event ${eventKey} will never run on account ${accountId}; it is kept in the inbox ` +
          "as discarded, with its reason.",
        typed: accountId,
        buttonLabel: `Discard for ${accountId}`,
      }),
      () => client.discardDeadLetter({ entryId: id }),
      `Event ${eventKey} on ${accountId} is discarded.`,
    );
  });
  return row;
}
