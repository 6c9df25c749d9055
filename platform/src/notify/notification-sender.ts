import { context, trace, type Tracer } from "@opentelemetry/api";
import { ExponentialBackoff, type IBackoff } from "cockatiel";
import type { Logger } from "../logger.js";
import { createSecretRedactor } from "../secret-redactor.js";
import { deliverNotification, NotificationRefused } from "./deliver-notification.js";
import type { Notification } from "./notification.js";
import type { NotificationOutbox } from "./notification-outbox.js";
import { restoreTraceContext, storeTraceContext } from "../stored-trace-context.js";
import type { NotifyMetrics } from "./notify-metrics.js";
import type { NotifyTarget } from "./notify-target.js";

/** Options of createNotificationSender. */
export interface NotificationSenderOptions {
  /** Where notifications wait until a receiver took them; required. The caller closes it. */
  outbox: NotificationOutbox;
  /** The receivers (NOTIFY_URLS); none: enqueue records nothing. */
  targets: readonly NotifyTarget[];
  /** One line per notification sent, retried or given up; required. */
  logger: Logger;
  /** Each attempt gets a `notify` span; default the global tracer (a no-op until started). */
  tracer?: Tracer;
  /** Counts sent, failed and retried; default none. */
  metrics?: NotifyMetrics;
  /** Wait before the first retry, ms, growing exponentially with jitter; default 1000. */
  initialRetryDelayMs?: number;
  /**
   * Longest wait between attempts at a receiver, ms: attempts never stop (delivery is at least
   * once) but a receiver that is down is asked at most this often; default 30_000.
   */
  maxRetryDelayMs?: number;
  /** Time allowed for one attempt, ms; default 30_000. */
  timeoutMs?: number;
  /**
   * How often an idle receiver's queue is looked at again (rows written elsewhere), ms; default
   * 5_000 on a shared outbox, 60_000 otherwise.
   */
  pollIntervalMs?: number;
  /**
   * Give up, at start, the rows of receivers not in `targets` (removed from the configuration);
   * default true, false on a shared outbox: another replica may be configured with them.
   */
  abandonRemovedTargets?: boolean;
}

/** Delivers notifications from the outbox in the background. */
export interface NotificationSender {
  /**
   * Records the notification in the outbox for every receiver, with the active trace context,
   * and wakes their delivery; resolves once recorded, never waiting for a receiver.
   */
  enqueue(notification: Notification): Promise<void>;
  /** Stops delivering; what is not delivered stays in the outbox for the next start. */
  close(): Promise<void>;
}

/**
 * One delivery loop per receiver, in the order notifications were recorded: a receiver that is
 * down or slow holds up only its own queue, asked again with exponential backoff (cockatiel)
 * capped at maxRetryDelayMs, for as long as it takes. Rows of receivers no longer configured
 * are given up at start.
 */
export function createNotificationSender(options: NotificationSenderOptions): NotificationSender {
  const { outbox, targets, logger, metrics } = options;
  const tracer = options.tracer ?? trace.getTracer("notify");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollIntervalMs = options.pollIntervalMs ?? (outbox.shared ? 5000 : 60_000);
  const backoffs = new ExponentialBackoff({
    initialDelay: options.initialRetryDelayMs ?? 1000,
    maxDelay: options.maxRetryDelayMs ?? 30_000,
  });
  const redactor = createSecretRedactor(targets.flatMap((t) => t.secrets));
  const stopping = new AbortController();
  const wakers = new Set<() => void>();

  /** Resolves after `ms`, at close, or (when `wakeable`) once something new was recorded. */
  const sleep = (ms: number, wakeable: boolean) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopping.signal.addEventListener("abort", done);
      if (wakeable) wakers.add(done);
    });

  async function deliverAll(target: NotifyTarget): Promise<void> {
    const log = logger.child({ notifyTarget: target.shown, notifyFormat: target.format });
    let backoff: IBackoff<unknown> | undefined;
    while (!stopping.signal.aborted) {
      let row;
      try {
        row = await outbox.next(target.key);
      } catch (err) {
        if (stopping.signal.aborted) return;
        log.error({ err }, "notification outbox unavailable; retrying");
        await sleep(pollIntervalMs, true);
        continue;
      }
      if (!row) {
        await sleep(pollIntervalMs, true);
        continue;
      }
      const { notification } = row;
      const attempt = row.attempts + 1;
      const fields = { notificationId: notification.id, attempt };
      try {
        await deliverNotification(target, notification, {
          tracer,
          attempt,
          timeoutMs,
          signal: stopping.signal,
          redactor,
          parent: restoreTraceContext(row.trace),
        });
        await outbox.delivered(notification.id, target.key);
        backoff = undefined;
        metrics?.sent(target.format);
        log.info(fields, "notification sent");
      } catch (err) {
        if (stopping.signal.aborted) return;
        const reason = (err as Error).message;
        if (err instanceof NotificationRefused) {
          await outbox.abandon(notification.id, target.key, reason).catch(() => undefined);
          backoff = undefined;
          metrics?.failed(target.format);
          log.error({ ...fields, reason }, "notification refused by the receiver; given up");
          continue;
        }
        await outbox.attemptFailed(notification.id, target.key, reason).catch(() => undefined);
        backoff = backoff ? backoff.next(undefined) : backoffs.next();
        metrics?.retried(target.format);
        log.warn(
          { ...fields, reason, retryInMs: Math.round(backoff.duration) },
          "notification not delivered; will retry",
        );
        // Not cut short by new notifications: the backoff bounds the rate at this receiver.
        await sleep(backoff.duration, false);
      }
    }
  }

  /** Gives up the rows of receivers removed from the configuration: nobody can take them. */
  async function abandonRemoved(): Promise<void> {
    const configured = new Set(targets.map((t) => t.key));
    for (const key of await outbox.pendingTargets()) {
      if (configured.has(key)) continue;
      let given = 0;
      for (let row = await outbox.next(key); row; row = await outbox.next(key)) {
        await outbox.abandon(row.notification.id, key, "receiver no longer configured");
        given++;
      }
      logger.warn(
        { notifications: given },
        "notifications of a receiver no longer configured given up",
      );
    }
  }

  const loops = (async () => {
    if (options.abandonRemovedTargets ?? !outbox.shared) {
      await abandonRemoved().catch((err: unknown) =>
        logger.error({ err }, "could not look for notifications of removed receivers"),
      );
    }
    await Promise.all(targets.map(deliverAll));
  })();

  return {
    async enqueue(notification) {
      if (targets.length === 0) return;
      // The active span is where the outcome was reached (the run's): attempts join its trace.
      await outbox.add(
        notification,
        targets.map((t) => t.key),
        storeTraceContext(context.active()),
      );
      for (const wake of [...wakers]) wake();
    },
    async close() {
      stopping.abort();
      await loops;
    },
  };
}
