import type { InboxEntry } from "../inbox/inbox.js";

/**
 * The idempotency key of an entry's run: the event and the account, so replicas and repeated
 * deliveries of one event make one run. A later generation (after a postponement or a re-drive)
 * is deliberately a new run.
 */
export function idempotencyKey(entry: Pick<InboxEntry, "eventKey" | "accountId" | "generation">) {
  const base = `${entry.eventKey}/${entry.accountId}`;
  return entry.generation > 0 ? `${base}/${entry.generation}` : base;
}
