import { consoleRunUrl } from "@mesh/platform/notify/console-run-url";
import type { Notification } from "@mesh/platform/notify/notification";
import type { InboxEntry } from "../inbox/inbox.js";

/**
 * The notification of an entry the subscriber gave up on. Its id names the entry and its
 * generation: the same if the dead-lettering is written again after a restart, a new one if the
 * entry is re-driven and dead-lettered again.
 */
export function deadLetterNotification(
  entry: InboxEntry,
  reason: string,
  runId: string,
  consoleBase: string,
): Notification {
  const event = entry.eventId || entry.eventKey;
  return {
    id: `dead-letter:${entry.id}:${entry.generation}`,
    kind: "dead_letter",
    runId,
    accountId: entry.accountId,
    mode: entry.command === "rebalance" ? "live" : entry.command === "dry-run" ? "dry_run" : "",
    status: "dead_lettered",
    failureReason: "",
    title: `${entry.accountId}: ${entry.command || "event"} ${event} dead-lettered`,
    message: reason,
    ordersPlaced: 0,
    ordersFilled: 0,
    trigger: { source: entry.source, eventId: entry.eventId, channel: entry.channel },
    consoleUrl: runId ? consoleRunUrl(consoleBase, runId) : "",
    occurredAt: new Date().toISOString(),
  };
}
