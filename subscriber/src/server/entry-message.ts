import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EntrySchema, EntryState, type Entry } from "@mesh/proto/subscriber/v1/subscriber";
import type { EntryState as InboxState, InboxEntry } from "../inbox/inbox.js";

/** The contract's name of each inbox state. */
export const entryStateMessages: Record<InboxState, EntryState> = {
  pending: EntryState.PENDING,
  in_flight: EntryState.IN_FLIGHT,
  done: EntryState.DONE,
  dead: EntryState.DEAD,
  rejected: EntryState.REJECTED,
  discarded: EntryState.DISCARDED,
};

/** The inbox state a contract state names; undefined for UNSPECIFIED (any state). */
export function inboxState(state: EntryState): InboxState | undefined {
  const found = Object.entries(entryStateMessages).find(([, message]) => message === state);
  return found?.[0] as InboxState | undefined;
}

/** An inbox entry as the contract shows it; the payload and trace context stay inside. */
export function entryMessage(entry: InboxEntry): Entry {
  return create(EntrySchema, {
    id: BigInt(entry.id),
    eventKey: entry.eventKey,
    eventId: entry.eventId,
    channel: entry.channel,
    accountId: entry.accountId,
    state: entryStateMessages[entry.state],
    command: entry.command,
    source: entry.source,
    attempts: entry.attempts,
    reason: entry.reason,
    runId: entry.runId,
    outcome: entry.result,
    publishedAt: timestampFromMs(entry.publishedAt),
    receivedAt: timestampFromMs(entry.receivedAt),
    updatedAt: timestampFromMs(entry.updatedAt),
    nextAttemptAt: timestampFromMs(entry.nextAttemptAt),
    generation: entry.generation,
  });
}
