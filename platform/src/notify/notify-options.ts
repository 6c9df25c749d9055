import type { NotificationSenderOptions } from "./notification-sender.js";
import type { NotifyTarget } from "./notify-target.js";

/** What a service's composition root passes to have outcomes notified. */
export interface NotifyOptions extends Pick<
  NotificationSenderOptions,
  "initialRetryDelayMs" | "maxRetryDelayMs" | "timeoutMs" | "pollIntervalMs"
> {
  /** The receivers (NOTIFY_URLS, parsed); none turns notifications off. */
  targets: readonly NotifyTarget[];
  /** Dry runs are notified too; default false. */
  dryRuns?: boolean;
  /** The console's public address for links; default derived from the rebalancer's URL. */
  consoleUrl?: string;
}
