import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
  type RetryPolicy,
} from "cockatiel";

/** Options of createResiliencePolicy. */
export interface ResiliencePolicyOptions {
  /**
   * Whether a failure may pass if asked again: only those are retried and count against the
   * circuit; any other error goes straight to the caller. A timed-out attempt reaches this as
   * cockatiel's TaskCancelledError. Default: every error.
   */
  isTransient?: (err: unknown) => boolean;
  /** Attempts per call, the first included; default 3. 1 (or less) retries nothing. */
  attempts?: number;
  /** Delay before the first retry, ms, growing exponentially with jitter; default 500. */
  initialBackoffMs?: number;
  /** Longest delay between retries, ms; default 10_000. */
  maxBackoffMs?: number;
  /** Consecutive transient failures that open the circuit; default 5. */
  breakerThreshold?: number;
  /** How long an open circuit fails fast before one trial call goes through, ms; default 30_000. */
  halfOpenAfterMs?: number;
  /** Time allowed for one attempt, ms, after which its signal aborts; default 30_000. */
  timeoutMs?: number;
}

/** The composed policy, and its parts for listening to retries and circuit changes. */
export interface ResiliencePolicy {
  /** Quick retries around the circuit breaker around a timeout per attempt. */
  policy: IPolicy;
  /** Emits onRetry before each retry. */
  retry: RetryPolicy;
  /** Its state and onBreak/onReset/onStateChange show the circuit. */
  breaker: CircuitBreakerPolicy;
}

/**
 * The one resilience policy of calls to another service (the allocation API, the rebalancer):
 * retries with exponential backoff and jitter on transient failures, a consecutive-failure
 * circuit breaker and an aggressive timeout per attempt. An open circuit (BrokenCircuitError)
 * is never retried: it fails the call at once.
 */
export function createResiliencePolicy(options: ResiliencePolicyOptions = {}): ResiliencePolicy {
  const isTransient = options.isTransient ?? (() => true);
  const breaker = circuitBreaker(handleWhen(isTransient), {
    halfOpenAfter: options.halfOpenAfterMs ?? 30_000,
    breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
  });
  const retries = retry(
    handleWhen((err) => isTransient(err) && !(err instanceof BrokenCircuitError)),
    {
      maxAttempts: Math.max(0, (options.attempts ?? 3) - 1),
      backoff: new ExponentialBackoff({
        initialDelay: options.initialBackoffMs ?? 500,
        maxDelay: options.maxBackoffMs ?? 10_000,
      }),
    },
  );
  const perAttempt = timeout(options.timeoutMs ?? 30_000, TimeoutStrategy.Aggressive);
  return { policy: wrap(retries, breaker, perAttempt), retry: retries, breaker };
}
