import type { Logger } from "@mesh/platform/logger";
import type { Notification } from "@mesh/platform/notify/notification";
import { deadLetterNotification } from "../delivery/dead-letter-notification.js";
import type { Inbox } from "./inbox.js";

/** Options of notifyingInbox. */
export interface NotifyingInboxOptions {
  /** Records a notification durably (the outbox); its delivery happens in the background. */
  enqueue(notification: Notification): Promise<void>;
  /** Dead-lettered dry-run commands are notified too; default false. */
  dryRuns?: boolean;
  /** The console's public address, for links to the entry's run. */
  consoleBase: string;
  /** Told when a notification could not be recorded. */
  logger: Logger;
}

/**
 * The inbox, recording a notification in the outbox whenever an entry is dead-lettered. The
 * notification is recorded first: a process stopping in between leaves the entry in flight, to
 * be delivered again after the restart (and, dead-lettered again, notified under the same id).
 * A notification that cannot be recorded is logged; the dead-lettering goes on.
 */
export function notifyingInbox(inbox: Inbox, options: NotifyingInboxOptions): Inbox {
  return {
    // The inbox's own functions (a factory's object, no `this`), kill wrapped.
    ...inbox,
    async kill(id, reason, runId) {
      const entry = await inbox.get(id).catch(() => undefined);
      if (entry && (entry.command !== "dry-run" || options.dryRuns)) {
        const notification = deadLetterNotification(
          entry,
          reason,
          runId ?? entry.runId,
          options.consoleBase,
        );
        await options.enqueue(notification).catch((err: unknown) => {
          options.logger.error(
            { err, entryId: id, notificationId: notification.id },
            "could not record the dead letter's notification",
          );
        });
      }
      await inbox.kill(id, reason, runId);
    },
  };
}
