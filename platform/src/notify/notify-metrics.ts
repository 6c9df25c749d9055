import type { Meter } from "@opentelemetry/api";
import type { NotifyFormat } from "./notify-target.js";

/** What the notification sender counts. */
export interface NotifyMetrics {
  /** A notification reached a receiver. */
  sent(format: NotifyFormat): void;
  /** A notification was given up: refused for good by the receiver, or its target removed. */
  failed(format: NotifyFormat): void;
  /** An attempt failed and another one is scheduled. */
  retried(format: NotifyFormat): void;
}

/** Counters `<prefix>.notifications.sent / .failed / .retried`, by receiver format. */
export function createNotifyMetrics(meter: Meter, prefix: string): NotifyMetrics {
  const sent = meter.createCounter(`${prefix}.notifications.sent`, {
    description: "Notifications delivered to a receiver",
  });
  const failed = meter.createCounter(`${prefix}.notifications.failed`, {
    description: "Notifications given up: refused for good, or their receiver was removed",
  });
  const retried = meter.createCounter(`${prefix}.notifications.retried`, {
    description: "Notification attempts that failed and were scheduled again",
  });
  return {
    sent: (format) => sent.add(1, { "notify.format": format }),
    failed: (format) => failed.add(1, { "notify.format": format }),
    retried: (format) => retried.add(1, { "notify.format": format }),
  };
}
