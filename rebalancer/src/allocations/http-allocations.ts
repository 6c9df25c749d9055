import type { Account } from "@mesh/platform/accounts";
import type { Logger } from "@mesh/platform/logger";
import { createResiliencePolicy } from "@mesh/platform/resilience-policy";
import {
  BrokenCircuitError,
  CircuitState,
  TaskCancelledError,
  type CircuitBreakerPolicy,
  type IPolicy,
} from "cockatiel";
import { AllocationError } from "./allocation-error.js";
import type { AllocationProvider } from "./allocation-provider.js";
import type { Allocations } from "./allocations.js";
import { parseAllocations } from "./parse-allocations.js";

/** Options of createHttpAllocations. */
export interface HttpAllocationsOptions {
  /**
   * API key sent with every request; default none (no key header is sent). Never logged. A
   * function is asked before each request, so a key rotated on disk applies without a restart.
   */
  apiKey?: string | (() => string | undefined);
  /**
   * Header that carries the key; default "x-api-key". "Authorization" (any case) sends
   * `Authorization: Bearer <key>`.
   */
  apiKeyHeader?: string;
  /** Time allowed for one attempt (connect, headers and body), in ms; default 30_000. */
  timeoutMs?: number;
  /** Attempts per request, the first included; default 4. Only transient failures are retried. */
  attempts?: number;
  /** Delay before the first retry in ms, growing exponentially with jitter; default 500. */
  initialBackoffMs?: number;
  /** Longest delay between retries in ms; default 10_000. */
  maxBackoffMs?: number;
  /** Consecutive transient failures against one host that open its circuit; default 5. */
  breakerThreshold?: number;
  /** How long an open circuit fails fast before one trial request goes through, in ms; default 30_000. */
  halfOpenAfterMs?: number;
  /** Refuse an answer whose `name` is not the account's strategy; default true. */
  checkName?: boolean;
  /** Receives retries and circuit changes (never the key); default none. */
  logger?: Logger;
  /** The fetch implementation; default the global fetch. */
  fetch?: typeof fetch;
}

/** Why one attempt failed in a way that asking again may fix. */
type Transient =
  | { kind: "status"; status: number; statusText: string }
  | { kind: "timeout" }
  | { kind: "network"; detail: string };

class TransientFailure extends Error {
  constructor(
    readonly reason: Transient,
    options?: { cause?: unknown },
  ) {
    super(reason.kind, options);
    this.name = "TransientFailure";
  }
}

/** One circuit per host (host:port): one failing API does not block accounts on another. */
interface HostCircuit {
  host: string;
  policy: IPolicy;
  breaker: CircuitBreakerPolicy;
  consecutiveFailures: number;
  lastFailure: string;
  openedAt?: Date;
}

const isTransient = (err: unknown) =>
  err instanceof TransientFailure || err instanceof TaskCancelledError;

/**
 * Targets from the provider's allocation API, one GET per call on the account's URL, with a
 * timeout per attempt, retries with exponential backoff and jitter on transient failures (network,
 * timeout, 5xx, 429) and a circuit breaker per host. Redirects are not followed, so the key never
 * goes to another host.
 */
export function createHttpAllocations(options: HttpAllocationsOptions = {}): AllocationProvider {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const attempts = Math.max(1, options.attempts ?? 4);
  const threshold = options.breakerThreshold ?? 5;
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 30_000;
  const keyHeader = (options.apiKeyHeader ?? "x-api-key").trim();
  const fetchFn = options.fetch ?? globalThis.fetch;
  const circuits = new Map<string, HostCircuit>();
  const keySource = options.apiKey;
  const currentKey = (): string | undefined => {
    const key = typeof keySource === "function" ? keySource() : keySource;
    return key === "" ? undefined : key;
  };
  // Checked here, as fetch would put the invalid value into its error message.
  const checkKey = (key: string | undefined): void => {
    if (key !== undefined && !/^[\x21-\x7e]+$/.test(key)) {
      throw new RangeError("apiKey: must be printable ASCII without spaces or line breaks");
    }
  };
  checkKey(currentKey());
  if (!/^[A-Za-z0-9-]+$/.test(keyHeader)) {
    throw new RangeError(`apiKeyHeader: not a valid header name: "${keyHeader}"`);
  }
  const headersFor = (apiKey: string | undefined): Record<string, string> => {
    checkKey(apiKey);
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) {
      if (keyHeader.toLowerCase() === "authorization") headers.authorization = `Bearer ${apiKey}`;
      else headers[keyHeader.toLowerCase()] = apiKey;
    }
    return headers;
  };
  // A key can come back in a body (an echoing proxy) or in an error: never pass it on. Both the
  // key in use and the one before a rotation are hidden.
  const sentKeys = new Set<string>();
  const redact = (text: string) => {
    let out = text;
    for (const key of sentKeys) out = out.replaceAll(key, "[redacted]");
    const key = currentKey();
    return key ? out.replaceAll(key, "[redacted]") : out;
  };

  function circuitFor(host: string): HostCircuit {
    const existing = circuits.get(host);
    if (existing) return existing;
    const {
      policy,
      retry: retries,
      breaker,
    } = createResiliencePolicy({
      isTransient,
      attempts,
      initialBackoffMs: options.initialBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      breakerThreshold: threshold,
      halfOpenAfterMs,
      timeoutMs,
    });
    const circuit: HostCircuit = {
      host,
      breaker,
      policy,
      consecutiveFailures: 0,
      lastFailure: "",
    };
    retries.onRetry((event) => {
      const reason = "error" in event ? failureText(event.error) : "unexpected result";
      options.logger?.warn(
        { host, attempt: event.attempt, delayMs: Math.round(event.delay), reason },
        "allocation API attempt failed; retrying",
      );
    });
    breaker.onFailure(({ handled, reason }) => {
      if (!handled) return;
      circuit.consecutiveFailures++;
      circuit.lastFailure = "error" in reason ? failureText(reason.error) : "unexpected result";
    });
    breaker.onSuccess(() => {
      circuit.consecutiveFailures = 0;
    });
    breaker.onBreak(() => {
      circuit.openedAt = new Date();
      options.logger?.error(
        { host, failures: circuit.consecutiveFailures, lastFailure: circuit.lastFailure },
        "allocation API circuit opened",
      );
    });
    breaker.onReset(() => {
      circuit.openedAt = undefined;
      options.logger?.info({ host }, "allocation API circuit closed");
    });
    circuits.set(host, circuit);
    return circuit;
  }

  async function fetchDocument(url: URL, where: string, signal: AbortSignal): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      const apiKey = currentKey();
      if (apiKey) sentKeys.add(apiKey);
      response = await fetchFn(url, { headers: headersFor(apiKey), signal, redirect: "manual" });
      text = await response.text();
    } catch (err) {
      if (signal.aborted) throw new TransientFailure({ kind: "timeout" }, { cause: err });
      throw new TransientFailure(
        { kind: "network", detail: redact(networkDetail(err)) },
        { cause: err },
      );
    }
    const { status, statusText } = response;
    if (status === 429 || status >= 500) {
      throw new TransientFailure({ kind: "status", status, statusText });
    }
    if (status >= 300 && status < 400) {
      const location = response.headers.get("location");
      throw new AllocationError(
        "unavailable",
        `allocation API redirected (${status}) ${where} to ${location ? redactUrl(location, url) : "another place"}; ` +
          "configure the final URL (redirects are not followed, so that the API key stays with its host)",
      );
    }
    if (status >= 400) {
      const said = snippet(redact(text));
      throw new AllocationError(
        "unavailable",
        `allocation API returned ${status}${statusText ? ` ${statusText}` : ""} (${where})` +
          (said ? `: ${said}` : "") +
          hint(status, keyHeader, currentKey() !== undefined),
      );
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      const type = response.headers.get("content-type") ?? "no content-type";
      throw new AllocationError(
        "invalid",
        `allocation API answered something that is not JSON (${where}, ${type}): ${snippet(redact(text)) || "an empty body"}`,
        false,
        { cause: err },
      );
    }
  }

  return {
    async targets(account: Account): Promise<Allocations> {
      if (account.allocations.kind !== "http") {
        throw new AllocationError(
          "unavailable",
          `account ${account.accountId} does not take its allocations from an HTTP API`,
        );
      }
      let url: URL;
      try {
        url = new URL(account.allocations.url);
      } catch (err) {
        throw new AllocationError(
          "invalid",
          `account ${account.accountId}: allocation URL is not a valid URL`,
          false,
          { cause: err },
        );
      }
      const where = `GET ${redactUrl(url.href, url)}`;
      const circuit = circuitFor(url.host);
      let made = 0;
      let doc: unknown;
      try {
        doc = await circuit.policy.execute(({ signal }) => {
          made++;
          return fetchDocument(url, where, signal);
        });
      } catch (err) {
        throw finalError(err, made, where, circuit);
      }
      return parseAllocations(doc, {
        strategy: account.strategy,
        source: `allocation API (${where})`,
        checkName: options.checkName,
      });
    },

    health() {
      if (circuits.size === 0) return { ok: true, detail: "no requests yet" };
      const parts = [...circuits.values()].map((c) => ({
        ok: c.breaker.state === CircuitState.Closed,
        text: circuitText(c),
      }));
      return { ok: parts.every((p) => p.ok), detail: parts.map((p) => p.text).join("; ") };
    },
  };

  function finalError(err: unknown, made: number, where: string, circuit: HostCircuit): Error {
    if (err instanceof AllocationError) return err;
    const tries = `${made} attempt${made === 1 ? "" : "s"}`;
    if (err instanceof BrokenCircuitError) {
      return new AllocationError(
        "unavailable",
        `allocation API at ${circuit.host} is failing: circuit open after ${threshold} consecutive failures ` +
          `(last: ${circuit.lastFailure}); not asking again until ${retryAt(circuit)} ` +
          `(${where}, ${tries} in this request)`,
        true,
        { cause: err },
      );
    }
    return new AllocationError(
      "unavailable",
      `allocation API ${failureText(err)} after ${tries} (${where})`,
      true,
      { cause: err },
    );
  }

  function retryAt(circuit: HostCircuit): string {
    const opened = circuit.openedAt?.getTime() ?? Date.now();
    return new Date(opened + halfOpenAfterMs).toISOString();
  }

  function failureText(err: unknown): string {
    if (err instanceof TaskCancelledError) return `did not answer within ${timeoutMs} ms`;
    if (!(err instanceof TransientFailure)) return redact(String(err));
    const reason = err.reason;
    switch (reason.kind) {
      case "status":
        return `returned ${reason.status}${reason.statusText ? ` ${reason.statusText}` : ""}`;
      case "timeout":
        return `did not answer within ${timeoutMs} ms`;
      case "network":
        return `was unreachable (${reason.detail})`;
    }
  }

  function circuitText(c: HostCircuit): string {
    switch (c.breaker.state) {
      case CircuitState.Closed:
        return c.consecutiveFailures > 0
          ? `${c.host}: reachable, circuit closed; last ${c.consecutiveFailures} attempt(s) failed (${c.lastFailure})`
          : `${c.host}: reachable, circuit closed`;
      case CircuitState.HalfOpen:
        return `${c.host}: circuit half-open, a trial request is in flight (last: ${c.lastFailure})`;
      default: {
        const since = c.openedAt ? ` since ${c.openedAt.toISOString()}` : "";
        return `${c.host}: circuit open${since} after ${threshold} consecutive failures (last: ${c.lastFailure}); failing fast`;
      }
    }
  }
}

function hint(status: number, keyHeader: string, hasKey: boolean): string {
  if (status === 401 || status === 403) {
    return hasKey
      ? `; check the API key and the header that carries it (${keyHeader})`
      : "; no API key is configured";
  }
  if (status === 404) return "; check the account's allocation URL and strategy name";
  return "";
}

/** The origin and path only: a query string or credentials may hold a secret. */
function redactUrl(href: string, base: URL): string {
  try {
    const u = new URL(href, base);
    return `${u.origin}${u.pathname}${u.search ? "?..." : ""}`;
  } catch {
    return "an unparsable location";
  }
}

function networkDetail(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.message === "string") return cause.message;
  if (cause && typeof cause.code === "string") return cause.code;
  return err instanceof Error ? err.message : String(err);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 120
    ? `${JSON.stringify(flat.slice(0, 120))}...`
    : flat && JSON.stringify(flat);
}
