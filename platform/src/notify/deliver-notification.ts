import { SpanKind, SpanStatusCode, type Context, type Tracer } from "@opentelemetry/api";
import type { SecretRedactor } from "../secret-redactor.js";
import { formatNotification } from "./format-notification.js";
import type { Notification } from "./notification.js";
import type { NotifyTarget } from "./notify-target.js";

/** A receiver answered that it will never take this notification (a 4xx other than 408/429). */
export class NotificationRefused extends Error {}

/** Statuses that say "not now" rather than "never": the attempt is retried. */
const retryable = new Set([408, 425, 429]);

/**
 * One attempt to deliver a notification to a target, in a `notify` span. Resolves when the
 * receiver answered 2xx; throws NotificationRefused when it refused for good, any other error
 * when a later attempt may succeed. Error messages never carry the URL's secrets.
 */
export function deliverNotification(
  target: NotifyTarget,
  notification: Notification,
  options: {
    tracer: Tracer;
    attempt: number;
    timeoutMs: number;
    signal: AbortSignal;
    /** Removes the secrets of every receiver's URL from error texts (a receiver may echo any). */
    redactor: SecretRedactor;
    /** The span is a child of this context's: the run's, so the attempts join its trace. */
    parent: Context;
  },
): Promise<void> {
  const { headers, body } = formatNotification(target.format, notification);
  const { redactor } = options;
  return options.tracer.startActiveSpan(
    "notify",
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "notify.id": notification.id,
        "notify.format": target.format,
        "notify.target": target.shown,
        "notify.attempt": options.attempt,
        "notify.status": notification.status,
        "account.id": notification.accountId,
        ...(notification.runId ? { "run.id": notification.runId } : {}),
      },
    },
    options.parent,
    async (span) => {
      try {
        const response = await fetch(target.url, {
          method: "POST",
          headers: {
            ...headers,
            ...(target.authorization ? { authorization: target.authorization } : {}),
          },
          body,
          redirect: "error",
          signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
        });
        span.setAttribute("http.response.status_code", response.status);
        if (response.ok) {
          await response.body?.cancel();
          return;
        }
        const text = (await response.text().catch(() => "")).slice(0, 200).trim();
        const message = redactor.redact(`HTTP ${response.status}${text ? `: ${text}` : ""}`);
        if (response.status >= 400 && response.status < 500 && !retryable.has(response.status)) {
          throw new NotificationRefused(message);
        }
        throw new Error(message);
      } catch (err) {
        const reason = redactor.redact(describe(err));
        span.recordException(reason);
        span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
        if (err instanceof NotificationRefused) throw err;
        throw new Error(reason, { cause: err });
      } finally {
        span.end();
      }
    },
  );
}

/** fetch says only "fetch failed": the cause says why (ECONNREFUSED, a timeout, ...). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === "TimeoutError") return "no answer in time";
  const cause = err.cause as (Error & { code?: string }) | undefined;
  if (cause?.code) return `${cause.code}: ${cause.message}`;
  return cause?.message ?? err.message;
}
