import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { SubscriberService } from "@mesh/proto/subscriber/v1/subscriber";
import type { Logger } from "@mesh/platform/logger";
import type { EntryState, Inbox, InboxEntry } from "../inbox/inbox.js";
import { entryMessage, inboxState } from "./entry-message.js";
import { gapMessage, storedGapState } from "./gap-message.js";
import { operatorCaller } from "./operator-caller.js";

/** Options of createSubscriberService. */
export interface SubscriberServiceOptions {
  /** The inbox shown and acted on; required. */
  inbox: Inbox;
  /** Called after a re-drive, so the dispatcher delivers at once instead of at its next poll. */
  onRedriven?: () => void;
  /** The clock; default Date.now. */
  now?: () => number;
  /**
   * Told of every re-drive, discard and gap acknowledgement, for the record of who changed what;
   * default none.
   */
  logger?: Logger;
}

const defaultPageSize = 50;

/**
 * SubscriberService over the inbox: its entries, the dead letters an operator acts on, and the
 * realtime gaps.
 */
export function createSubscriberService(
  options: SubscriberServiceOptions,
): ServiceImpl<typeof SubscriberService> {
  const { inbox } = options;
  const now = options.now ?? Date.now;

  /** One page, newest first; the token is the id of the page's last (oldest) entry. */
  const page = async (state: EntryState | undefined, pageSize: number, pageToken: string) => {
    const limit = pageSize || defaultPageSize;
    const beforeId = pageToken === "" ? undefined : Number(pageToken);
    // One more than asked says whether another page follows.
    const found = await inbox.list({ ...(state ? { state } : {}), limit: limit + 1, beforeId });
    const entries = found.slice(0, limit);
    const more = found.length > limit;
    return {
      entries: entries.map(entryMessage),
      nextPageToken: more ? String(entries.at(-1)!.id) : "",
    };
  };

  /** The entry named, or NOT_FOUND; FAILED_PRECONDITION unless it is dead. */
  const deadEntry = async (entryId: bigint, action: string): Promise<InboxEntry> => {
    // Ids beyond what a number holds exactly were never given out.
    const entry =
      entryId <= BigInt(Number.MAX_SAFE_INTEGER) ? await inbox.get(Number(entryId)) : undefined;
    if (entry === undefined) {
      throw new ConnectError(`no inbox entry ${entryId}`, Code.NotFound);
    }
    if (entry.state !== "dead") {
      throw new ConnectError(
        `entry ${entryId} is ${entry.state}, not dead: only a dead letter can be ${action}`,
        Code.FailedPrecondition,
      );
    }
    return entry;
  };

  /** Runs a change on a dead entry; another operator acting first is FAILED_PRECONDITION too. */
  const act = async (entryId: bigint, action: string, change: (id: number) => Promise<boolean>) => {
    const entry = await deadEntry(entryId, action);
    if (!(await change(entry.id))) await deadEntry(entryId, action);
    options.logger?.info(
      {
        entryId: entry.id,
        accountId: entry.accountId,
        eventKey: entry.eventKey,
        reason: entry.reason,
      },
      `dead letter ${action}`,
    );
    return { entry: entryMessage((await inbox.get(entry.id))!) };
  };

  return {
    async listEntries(request) {
      return page(inboxState(request.state), request.pageSize, request.pageToken);
    },
    async listDeadLetters(request) {
      const { entries, nextPageToken } = await page("dead", request.pageSize, request.pageToken);
      return { deadLetters: entries, nextPageToken };
    },
    async redriveDeadLetter(request) {
      const answer = await act(request.entryId, "re-driven", (id) => inbox.redrive(id, now()));
      options.onRedriven?.();
      return answer;
    },
    async discardDeadLetter(request) {
      return act(request.entryId, "discarded", (id) => inbox.discard(id, now()));
    },
    async listGaps(request) {
      const state = storedGapState(request.state);
      const gaps = await inbox.gaps.list({
        ...(state ? { state } : {}),
        limit: request.limit || 100,
      });
      return { gaps: gaps.map(gapMessage) };
    },
    async acknowledgeGap(request, context) {
      const id = request.gapId;
      // Ids beyond what a number holds exactly were never given out.
      const gap =
        id <= BigInt(Number.MAX_SAFE_INTEGER) ? await inbox.gaps.get(Number(id)) : undefined;
      if (gap === undefined) throw new ConnectError(`no gap ${id}`, Code.NotFound);
      if (gap.state !== "unrecoverable") {
        throw new ConnectError(
          `gap ${id} on ${gap.channel} is ${gap.state}, not unrecoverable: only a gap_unrecoverable record is acknowledged`,
          Code.FailedPrecondition,
        );
      }
      // Acknowledged already (by this caller retrying, or another operator first): unchanged.
      if (gap.acknowledgedAt !== undefined) return { gap: gapMessage(gap) };
      const who = operatorCaller(context, request.source);
      if (await inbox.gaps.acknowledge(gap.id, { who, at: now() })) {
        options.logger?.info(
          { gapId: gap.id, channel: gap.channel, from: gap.from, to: gap.to, who },
          "gap_unrecoverable acknowledged",
        );
      }
      return { gap: gapMessage((await inbox.gaps.get(gap.id))!) };
    },
  };
}
