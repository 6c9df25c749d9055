// The realtime channels' gaps, above the Events: stretches whose messages are lost for good
// (gap_unrecoverable records: health stays degraded until an operator acknowledges each) and
// stretches still being read from history, shown for information.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { GapState, type Gap } from "@mesh/proto/subscriber/v1/subscriber";
import { el } from "./element.js";
import { formatCount, formatTime } from "./format.js";
import { errorNotice, notice } from "./notice.js";
import type { SubscriberClient } from "./subscriber-client.js";
import { typedConfirmation } from "./typed-confirmation.js";
import type { ViewContext } from "./view-context.js";

/** Unrecoverable gaps shown, newest first, acknowledged ones included for the record. */
export const lostGapsShown = 20;

/** The gaps panel; nothing when no gap is open or unrecoverable. */
export async function gapsPanel(
  context: ViewContext,
  client: SubscriberClient,
): Promise<HTMLElement[]> {
  const { withApiKey, signal } = context;
  const lost = await withApiKey(() =>
    client.listGaps({ state: GapState.UNRECOVERABLE, limit: lostGapsShown }, { signal }),
  );
  const open = await withApiKey(() => client.listGaps({ state: GapState.OPEN }, { signal }));
  const shown: HTMLElement[] = [];
  if (lost.gaps.length > 0) {
    const result = el("div", { id: "gap-result", "aria-live": "polite" });
    // Each shown row by gap id: an acknowledged gap's row is replaced by its new state.
    const rows = new Map<bigint, HTMLElement>();
    const row = (gap: Gap): HTMLElement =>
      lostGapRow(gap, async () => {
        const confirmed = await typedConfirmation({
          id: "confirm-acknowledge-gap",
          title: `Acknowledge lost messages on ${gap.channel}`,
          text:
            `Messages published on ${gap.channel} ${stretch(gap)} may be lost for good: ` +
            `${gap.reason}. Acknowledging records that you know; nothing is recovered, and the ` +
            "subscriber's health stops reporting it. If they must run, publish them again or " +
            "post them to the subscriber's ingress.",
          typed: gap.channel,
          buttonLabel: `Acknowledge the loss on ${gap.channel}`,
        });
        if (!confirmed) return false;
        try {
          const answer = await withApiKey(() =>
            client.acknowledgeGap({ gapId: gap.id, source: "console" }),
          );
          rows.get(gap.id)?.replaceWith(remember(answer.gap ?? gap));
          result.replaceChildren(
            notice(
              `The loss on ${gap.channel} is acknowledged: health no longer reports it.`,
              "success",
            ),
          );
          return true;
        } catch (error) {
          result.replaceChildren(errorNotice(error, context.apiUrl));
          return false;
        }
      });
    const remember = (gap: Gap) => {
      const shownRow = row(gap);
      rows.set(gap.id, shownRow);
      return shownRow;
    };
    shown.push(
      el(
        "section",
        { id: "lost-gaps" },
        el("h2", {}, "Messages lost for good"),
        el(
          "p",
          { class: "muted" },
          "History did not reach back to these stretches: messages published in them may never " +
            "have run. The subscriber's health stays degraded until each loss is acknowledged.",
        ),
        result,
        gapsTable(
          "lost-gaps-table",
          ["Channel", "Published", "Reason", "Detected", "Acknowledged", ""],
          lost.gaps.map(remember),
        ),
      ),
    );
  }
  if (open.gaps.length > 0) {
    shown.push(
      el(
        "section",
        { id: "open-gaps" },
        el("h2", {}, "Being recovered from history"),
        notice(
          "Messages of these stretches may not be in the inbox yet: the subscriber is reading " +
            "them from the channel's history, and delivers what it finds.",
        ),
        gapsTable(
          "open-gaps-table",
          ["Channel", "Published", "Cause", "Detected", "Failed attempts"],
          open.gaps.map(openGapRow),
        ),
      ),
    );
  }
  return shown;
}

function gapsTable(id: string, headings: string[], rows: HTMLElement[]): HTMLElement {
  return el(
    "table",
    { id, class: "gaps" },
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows),
  );
}

/** A lost stretch; `acknowledge` asks and acts, resolving whether it did. */
function lostGapRow(gap: Gap, acknowledge: () => Promise<boolean>): HTMLElement {
  const acknowledged = gap.acknowledgedAt !== undefined;
  const button = el("button", { type: "button", class: "danger acknowledge" }, "Acknowledge");
  button.addEventListener("click", () => {
    button.disabled = true;
    void acknowledge().then((done) => {
      if (!done) button.disabled = false;
    });
  });
  return el(
    "tr",
    { "data-gap-id": String(gap.id), class: acknowledged ? "acknowledged" : "unacknowledged" },
    el("td", { class: "channel" }, gap.channel),
    stretchCell(gap),
    el("td", { class: "reason" }, gap.reason),
    el("td", { class: "time" }, formatTime(gap.closedAt ?? gap.openedAt)),
    el(
      "td",
      { class: "acknowledged-by" },
      acknowledged ? `${gap.acknowledgedBy}, ${formatTime(gap.acknowledgedAt)}` : "not yet",
    ),
    el("td", { class: "actions" }, acknowledged ? "" : button),
  );
}

function openGapRow(gap: Gap): HTMLElement {
  return el(
    "tr",
    { "data-gap-id": String(gap.id) },
    el("td", { class: "channel" }, gap.channel),
    stretchCell(gap),
    el("td", {}, gap.cause),
    el("td", { class: "time" }, formatTime(gap.openedAt)),
    el(
      "td",
      { class: "muted" },
      gap.failures > 0 ? `${formatCount(gap.failures)}: ${gap.lastError}` : "none",
    ),
  );
}

/** From–to to the minute; the exact times, which matter to find the messages, on hover. */
function stretchCell(gap: Gap): HTMLElement {
  return el(
    "td",
    { class: "stretch", title: stretch(gap) },
    `${formatTime(gap.from)} – ${formatTime(gap.to)}`,
  );
}

function stretch(gap: Gap): string {
  const iso = (time: Gap["from"]) => (time ? timestampDate(time).toISOString() : "?");
  return `from ${iso(gap.from)} to ${iso(gap.to)}`;
}
