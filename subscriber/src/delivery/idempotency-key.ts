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

/** The rebalancer refuses idempotency keys longer than this. */
export const maxIdempotencyKeyLength = 200;

/** Room kept for a later generation's `/<n>` suffix (up to 7 digits). */
const generationRoom = 8;

/**
 * Whether every generation of the event's key for the account fits the rebalancer's limit: an
 * event that cannot is refused at the ingress, instead of being accepted and dead-lettered.
 */
export function keyFits(eventKey: string, accountId: string): boolean {
  const base = idempotencyKey({ eventKey, accountId, generation: 0 });
  return base.length + generationRoom <= maxIdempotencyKeyLength;
}
