import type { Notification, NotificationStatus } from "./notification.js";
import type { NotifyFormat } from "./notify-target.js";

/** What one POST carries. */
export interface NotificationRequest {
  headers: Record<string, string>;
  body: string;
}

/** ntfy's priorities (1 min .. 5 max): a failure deserves attention, a completed run does not. */
const ntfyPriority: Record<NotificationStatus, string> = {
  failed: "high",
  dead_lettered: "default",
  postponed: "default",
  completed_with_adjustments: "default",
  completed: "low",
};

/** ntfy tags: the first known emoji name becomes the title's icon. */
const ntfyTags: Record<NotificationStatus, string> = {
  failed: "rotating_light",
  dead_lettered: "skull",
  postponed: "hourglass",
  completed_with_adjustments: "warning",
  completed: "white_check_mark",
};

/** The notification as the receiver's format wants it. */
export function formatNotification(
  format: NotifyFormat,
  notification: Notification,
): NotificationRequest {
  switch (format) {
    case "ntfy":
      return {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          // Header values are bytes: anything beyond ASCII would make the request throw.
          title: ascii(notification.title),
          priority: ntfyPriority[notification.status],
          tags: [
            ntfyTags[notification.status],
            notification.status,
            notification.mode,
            notification.accountId,
          ]
            .filter(Boolean)
            .map(ascii)
            .join(","),
          ...(notification.consoleUrl ? { click: notification.consoleUrl } : {}),
        },
        body: plainText(notification),
      };
    case "slack":
      return {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: slackText(notification) }),
      };
    case "json":
      return {
        headers: { "content-type": "application/json", "idempotency-key": notification.id },
        body: JSON.stringify(notification),
      };
  }
}

/** The body of an ntfy message: the title is a header, so the details and the link. */
function plainText(n: Notification): string {
  return [n.message, ...details(n), n.consoleUrl].filter(Boolean).join("\n");
}

function slackText(n: Notification): string {
  const title = n.consoleUrl ? `<${n.consoleUrl}|${escapeSlack(n.title)}>` : escapeSlack(n.title);
  return [`*${title}*`, escapeSlack(n.message), ...details(n).map(escapeSlack)]
    .filter(Boolean)
    .join("\n");
}

/** Orders and trigger, one line each, when there is something to say. */
function details(n: Notification): string[] {
  const lines: string[] = [];
  if (n.ordersPlaced > 0) lines.push(`orders: ${n.ordersPlaced} placed, ${n.ordersFilled} filled`);
  const { source, eventId, channel } = n.trigger;
  const event = [eventId && `event ${eventId}`, channel && `on ${channel}`].filter(Boolean);
  if (event.length > 0 || (source && source !== "unknown")) {
    lines.push(`trigger: ${[source, ...event].filter(Boolean).join(" ")}`);
  }
  return lines;
}

/** Slack's three control characters, escaped as its docs ask. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}
