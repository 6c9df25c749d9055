/** How a run or an event ended, as a notification tells it. */
export type NotificationStatus =
  "completed" | "completed_with_adjustments" | "failed" | "postponed" | "dead_lettered";

/**
 * One outcome an operator hears about: the JSON body a plain webhook receives, and what the ntfy
 * and Slack forms are made of. Plain data, so the outbox can keep it as JSON across restarts.
 */
export interface Notification {
  /**
   * Stable across retries and restarts (`<runId>:<status>`, `dead-letter:<entry>:<generation>`):
   * receivers de-duplicate on it, since delivery is at least once.
   */
  id: string;
  /** "run" for a run's outcome (rebalancer), "dead_letter" for an event given up (subscriber). */
  kind: "run" | "dead_letter";
  /** The run; "" when the event never became one. */
  runId: string;
  accountId: string;
  /** "live" or "dry_run"; "" when not known (an event refused before it became a run). */
  mode: "live" | "dry_run" | "";
  status: NotificationStatus;
  /** The failure's reason code in lower case (e.g. "order_rejected"); "" when none. */
  failureReason: string;
  /** One line for a human: what happened, e.g. "DU1000002: live run failed". */
  title: string;
  /** The run's own message, or why the event was dead-lettered. */
  message: string;
  /** Orders the run placed, and how many of them filled completely. */
  ordersPlaced: number;
  ordersFilled: number;
  /** What asked for the run: "ably", "webhook", "console", ...; event id and channel when an event did. */
  trigger: { source: string; eventId: string; channel: string };
  /** The run in the web console; "" when there is no run to show. */
  consoleUrl: string;
  /** When the outcome was reached, ISO 8601. */
  occurredAt: string;
}
