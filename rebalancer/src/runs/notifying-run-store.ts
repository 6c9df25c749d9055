import type { Logger } from "@mesh/platform/logger";
import type { Notification } from "@mesh/platform/notify/notification";
import { ExecutionMode, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { runNotification } from "./run-notification.js";
import type { RunStore } from "./run-store.js";

/** Options of notifyingRunStore. */
export interface NotifyingRunStoreOptions {
  /** Records a notification durably (the outbox); its delivery happens in the background. */
  enqueue(notification: Notification): Promise<void>;
  /** Dry runs are notified too; default false (live runs only). */
  dryRuns?: boolean;
  /** The console's public address, asked when a run ends (known once the server listens). */
  consoleBase(): string;
  /**
   * Whether this process still owns the run's account (replicas: its lease); default always.
   * A replica fenced off mid-run aborts it, and its final write is refused: that failure is not
   * the run's outcome (another replica goes on with it), so it is not told.
   */
  owns?(run: Run): Promise<boolean>;
  /** Told when a notification could not be recorded. */
  logger: Logger;
}

/**
 * The run store, recording a notification in the outbox whenever a run's final record is
 * stored. The notification is recorded first: a process stopping in between leaves the run
 * without its final record, which the next start stores again (with the same notification id,
 * recorded once). A notification that cannot be recorded is logged; the run goes on.
 */
export function notifyingRunStore(store: RunStore, options: NotifyingRunStoreOptions): RunStore {
  return {
    // The store's own functions (a factory's object, no `this`), finish wrapped.
    ...store,
    async finish(run) {
      if (run.mode === ExecutionMode.LIVE || options.dryRuns) {
        const notification = runNotification(run, options.consoleBase());
        // Asked of the database: when it cannot answer, telling beats losing the outcome.
        const owned = options.owns ? await options.owns(run).catch(() => true) : true;
        if (notification && owned) {
          await options.enqueue(notification).catch((err: unknown) => {
            options.logger.error(
              { err, runId: run.runId, notificationId: notification.id },
              "could not record the run's notification",
            );
          });
        }
      }
      await store.finish(run);
    },
  };
}
