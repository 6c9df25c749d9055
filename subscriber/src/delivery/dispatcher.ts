import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Logger } from "@mesh/platform/logger";
import type { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { context, ROOT_CONTEXT, SpanStatusCode, type Span, type Tracer } from "@opentelemetry/api";
import { createResiliencePolicy } from "@mesh/platform/resilience-policy";
import { BrokenCircuitError, CircuitState } from "cockatiel";
import type { DeliveryConfig } from "../config.js";
import type { Inbox, InboxEntry } from "../inbox/inbox.js";
import { restoreTraceContext } from "@mesh/platform/stored-trace-context";
import type { DeliveryOutcomeName, SubscriberMetrics } from "../telemetry/subscriber-metrics.js";
import { describeFailure, isPermanentFailure } from "./classify-failure.js";
import { deliverEntry } from "./deliver-entry.js";
import { idempotencyKey } from "./idempotency-key.js";
import type { RebalancerReachability } from "./rebalancer-reachability.js";

/** Options of createDispatcher. Every field is required unless it says otherwise. */
export interface DispatcherOptions {
  /** Where due entries are claimed and their outcomes written; required, no default. */
  inbox: Inbox;
  /** The RebalancerService client each delivery calls; required, no default. */
  client: Client<typeof RebalancerService>;
  /**
   * Concurrency, retries, circuit breaker, timeouts and max age; required (the composition root
   * passes `defaultDeliveryConfig` with the environment's overrides).
   */
  config: DeliveryConfig;
  /** Told whether each delivery reached the rebalancer; required, no default. */
  reachability: RebalancerReachability;
  /** Receives one line per outcome, retry and circuit change; required, no default. */
  logger: Logger;
  /**
   * Each attempt gets a `deliver` span, a child of the span that received the message; required
   * (a no-op tracer when tracing is off).
   */
  tracer: Tracer;
  /** Counts deliveries by outcome and measures them; default none (nothing is counted). */
  metrics?: SubscriberMetrics;
}

/** Moves pending inbox entries to the rebalancer. */
export interface Dispatcher {
  /** Looks for due entries now (called after new entries were recorded). */
  wake(): void;
  /** Entries being delivered right now. */
  inFlight(): number;
  /** A snapshot of the delivery circuit breaker. */
  status(): DispatcherStatus;
  /** Stops taking entries, cancels deliveries under way and returns them to pending. */
  close(): Promise<void>;
}

/** What the dispatcher reports in /status. */
export interface DispatcherStatus {
  /** Delivery circuit breaker: closed, open, half-open or isolated. */
  circuit: string;
}

const circuitNames: Record<CircuitState, string> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

/**
 * Delivers due entries with bounded concurrency across accounts and one at a time per account.
 * Each delivery runs under quick retries (exponential backoff with jitter), a circuit breaker
 * and a timeout; when those give up, the entry goes back to the inbox with a longer, growing
 * delay, so a rebalancer that is down for hours costs no memory and survives restarts. After
 * its max age such an entry is dead-lettered; permanent errors dead-letter it at once.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { inbox, client, config, reachability, logger, tracer, metrics } = options;
  const transient = (err: unknown) => !isPermanentFailure(err) && !stopping.signal.aborted;
  const { policy, breaker } = createResiliencePolicy({
    isTransient: transient,
    attempts: config.retryAttempts,
    initialBackoffMs: config.retryInitialDelayMs,
    maxBackoffMs: config.retryMaxDelayMs,
    breakerThreshold: config.breakerThreshold,
    halfOpenAfterMs: config.breakerHalfOpenAfterMs,
    timeoutMs: config.attemptTimeoutMs,
  });
  breaker.onStateChange((state) => {
    logger.warn({ circuit: circuitNames[state] }, "rebalancer circuit changed");
  });

  const stopping = new AbortController();
  const busy = new Set<string>();
  const running = new Set<Promise<void>>();
  let pumping = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  /** One attempt, in a span continuing the message's stored trace, so logs and RPCs join it. */
  const deliver = (entry: InboxEntry) =>
    tracer.startActiveSpan(
      "deliver",
      {
        attributes: {
          "delivery.entry_id": entry.id,
          "account.id": entry.accountId,
          "delivery.command": entry.command,
          "delivery.idempotency_key": idempotencyKey(entry),
          "delivery.attempt": entry.attempts + 1,
          "event.key": entry.eventKey,
        },
      },
      restoreTraceContext(entry),
      async (span) => {
        const started = performance.now();
        try {
          const outcome = await attempt(entry, span);
          span.setAttribute("delivery.outcome", outcome);
          metrics?.deliveryFinished(outcome, performance.now() - started);
        } catch (err) {
          failed(span, err);
          throw err;
        } finally {
          span.end();
        }
      },
    );

  const attempt = async (entry: InboxEntry, span: Span): Promise<DeliveryOutcomeName> => {
    // The delivery's one set of bindings: everything below logs through it and adds none of its own.
    const log = logger.child({
      entryId: entry.id,
      accountId: entry.accountId,
      idempotencyKey: idempotencyKey(entry),
    });
    await inbox.countAttempt(entry.id);
    try {
      const outcome = await policy.execute(
        ({ signal }) => deliverEntry(client, entry, signal, log),
        stopping.signal,
      );
      reachability.reached("delivery");
      if (outcome.runId) span.setAttribute("run.id", outcome.runId);
      if (outcome.kind === "done") {
        await inbox.complete(entry.id, { runId: outcome.runId, result: outcome.result });
        log.info({ runId: outcome.runId, result: outcome.result }, "delivered");
        return "done";
      } else if (outcome.kind === "postponed") {
        await inbox.reschedule(entry.id, {
          at: outcome.at,
          reason: outcome.result,
          runId: outcome.runId,
          newRun: true,
        });
        log.info({ at: new Date(outcome.at).toISOString() }, "run postponed, rescheduled");
        return "postponed";
      } else {
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason });
        await inbox.kill(entry.id, outcome.reason, outcome.runId);
        log.error({ reason: outcome.reason }, "run failed, dead-lettered");
        return "failed";
      }
    } catch (err) {
      const reason = describeFailure(err);
      if (stopping.signal.aborted) {
        await inbox.reschedule(entry.id, { at: Date.now(), reason: "interrupted by shutdown" });
        return "interrupted";
      }
      failed(span, err, reason);
      if (isPermanentFailure(err)) {
        reachability.reached("delivery");
        await inbox.kill(entry.id, reason);
        log.error({ reason }, "refused by the rebalancer, dead-lettered");
        return "refused";
      }
      // A refused key is an answer: health names it rather than calling the rebalancer down. An
      // open circuit made no call, so it teaches nothing about the rebalancer.
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) {
        reachability.refused(reason, "delivery");
      } else if (!(err instanceof BrokenCircuitError)) reachability.unreachable(reason);
      const age = Date.now() - entry.ageFrom;
      if (age >= config.maxAgeMs) {
        const dead = `gave up after ${entry.attempts + 1} attempts over ${Math.round(age / 1000)} s: ${reason}`;
        await inbox.kill(entry.id, dead);
        log.error({ reason: dead }, "max age reached, dead-lettered");
        return "expired";
      }
      const at = Date.now() + rescheduleDelay(entry.attempts + 1, err);
      await inbox.reschedule(entry.id, { at, reason });
      log.warn({ reason, at: new Date(at).toISOString() }, "delivery failed, will retry");
      return "retry";
    }
  };

  const failed = (span: Span, err: unknown, reason = describeFailure(err)) => {
    span.recordException(err instanceof Error ? err : reason);
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  };

  /** Exponential in the attempts, with full jitter; an open circuit waits until half-open. */
  const rescheduleDelay = (attempts: number, err: unknown) => {
    if (err instanceof BrokenCircuitError) return config.breakerHalfOpenAfterMs;
    const cap = Math.min(
      config.rescheduleMaxDelayMs,
      config.rescheduleInitialDelayMs * 2 ** Math.min(attempts - 1, 20),
    );
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  };

  const pump = async () => {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (!stopping.signal.aborted && running.size < config.concurrency) {
          const entry = await inbox.claimNext(Date.now(), busy);
          if (!entry) break;
          busy.add(entry.accountId);
          const run = deliver(entry)
            .catch((err: Error) => logger.error({ err, entryId: entry.id }, "delivery crashed"))
            .finally(() => {
              busy.delete(entry.accountId);
              running.delete(run);
              if (!stopping.signal.aborted) void pump();
            });
          running.add(run);
        }
      } while (again && !stopping.signal.aborted);
      await arm();
    } catch (err) {
      logger.error({ err }, "inbox unavailable; retrying");
      schedule(config.pollIntervalMs);
    } finally {
      pumping = false;
    }
  };

  /** Wakes at the next due entry, or after the poll interval (entries re-driven by the CLI). */
  const arm = async () => {
    // At full concurrency the end of a delivery wakes the pump: asking sooner would only spin.
    const due = running.size < config.concurrency ? await inbox.nextDueAt() : undefined;
    const wait = due === undefined ? config.pollIntervalMs : due - Date.now();
    schedule(Math.max(10, Math.min(wait, config.pollIntervalMs)));
  };

  const schedule = (ms: number) => {
    if (stopping.signal.aborted) return;
    clearTimeout(timer);
    timer = setTimeout(() => void pump(), ms);
  };

  // The pump outlives whoever woke it (a message's span): keep its work out of that trace.
  const wake = () => void context.with(ROOT_CONTEXT, pump);
  // Entries recorded by another replica (or re-driven by the CLI) wake this one at once.
  const unwatch = inbox.watch(wake);
  wake();

  return {
    wake,
    inFlight: () => running.size,
    status: () => ({ circuit: circuitNames[breaker.state] }),
    close: async () => {
      stopping.abort();
      unwatch();
      clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
