import type { Logger } from "@mesh/platform/logger";

/** Options of createIbkrBroker. The composition root fills them (e.g. from IBKR_* variables). */
export interface IbkrBrokerOptions {
  /** TWS / IB Gateway host, e.g. "127.0.0.1" or "ib-gateway". Required. */
  host: string;
  /** API port: 7497 TWS paper, 4002 Gateway paper, 4004 through the gnzsnz/ib-gateway relay. Required. */
  port: number;
  /** API client id; TWS allows one connection per id. Required. */
  clientId: number;
  /** Accounts this broker may read and trade; default: every account the login manages. */
  accountIds?: string[];
  /** How long one connection attempt, and ready(), may take; default 10_000 ms. */
  connectTimeoutMs?: number;
  /** First reconnect delay, doubled per failed attempt (with jitter); default 1_000 ms. */
  reconnectInitialDelayMs?: number;
  /** Longest reconnect delay; default 30_000 ms. */
  reconnectMaxDelayMs?: number;
  /**
   * On IB 326 (client id in use): "retry" the same id with backoff (keeps order events bound to
   * this id; TWS frees a dropped session's id within seconds), or try the "next" id.
   * Default "retry".
   */
  onClientIdInUse?: "retry" | "next";
  /** Lowest order id used; keeps order ids apart from request ids in IB errors. Default 1_000_000. */
  orderIdBase?: number;
  /**
   * Messages per second sent to TWS (its limit is about 50). The library paces in 100 ms slots,
   * so this is rounded down to a multiple of 10 (at least 10). Default 40.
   */
  maxRequestsPerSecond?: number;
  /** Longest wait for one symbol's price snapshot; what arrived by then is used. Default 11_000 ms. */
  snapshotTimeoutMs?: number;
  /** Longest wait for any other answer (contract details, positions, order acknowledgement). Default 10_000 ms. */
  requestTimeoutMs?: number;
  /**
   * How often a heartbeat (reqCurrentTime) is sent on a ready session; default 5_000 ms. With
   * `heartbeatTimeoutMs`, bounds how long a silent, half-open link can pass for connected: at most
   * their sum (default 10 s).
   */
  heartbeatIntervalMs?: number;
  /**
   * A ready session with no message from TWS for this long is declared lost: health turns
   * unhealthy, the socket is dropped and reconnected. Default 5_000 ms.
   */
  heartbeatTimeoutMs?: number;
  /** Idle time before TCP keepalive probes start on the socket (SO_KEEPALIVE); default 10_000 ms. */
  keepAliveDelayMs?: number;
  /**
   * More IB codes to treat as informational on an order (never a rejection), on top of the built-in
   * rule; lets an operator absorb a code TWS newly sends without a release. Default none.
   */
  informationalCodes?: number[];
  /** Where to log; default: nowhere. */
  logger?: Logger;
}

/** Options with every default applied. */
export type ResolvedIbkrBrokerOptions = Required<Omit<IbkrBrokerOptions, "accountIds" | "logger">> &
  Pick<IbkrBrokerOptions, "accountIds" | "logger">;

/** Applies defaults and rejects values that cannot work, naming the option. */
export function resolveIbkrBrokerOptions(options: IbkrBrokerOptions): ResolvedIbkrBrokerOptions {
  const resolved: ResolvedIbkrBrokerOptions = {
    connectTimeoutMs: 10_000,
    reconnectInitialDelayMs: 1_000,
    reconnectMaxDelayMs: 30_000,
    onClientIdInUse: "retry",
    orderIdBase: 1_000_000,
    maxRequestsPerSecond: 40,
    snapshotTimeoutMs: 11_000,
    requestTimeoutMs: 10_000,
    heartbeatIntervalMs: 5_000,
    heartbeatTimeoutMs: 5_000,
    keepAliveDelayMs: 10_000,
    informationalCodes: [],
    ...withoutUndefined(options),
  };
  const problems: string[] = [];
  if (!resolved.host) problems.push("host is empty");
  if (!isInteger(resolved.port, 1, 65_535))
    problems.push(`port must be 1-65535, got ${resolved.port}`);
  if (!isInteger(resolved.clientId, 0, 2 ** 31 - 1)) {
    problems.push(`clientId must be a non-negative integer, got ${resolved.clientId}`);
  }
  if (!isInteger(resolved.orderIdBase, 1, 2 ** 31 - 1)) {
    problems.push(`orderIdBase must be a positive 32-bit integer, got ${resolved.orderIdBase}`);
  }
  for (const key of [
    "connectTimeoutMs",
    "reconnectInitialDelayMs",
    "reconnectMaxDelayMs",
    "maxRequestsPerSecond",
    "snapshotTimeoutMs",
    "requestTimeoutMs",
    "heartbeatIntervalMs",
    "heartbeatTimeoutMs",
    "keepAliveDelayMs",
  ] as const) {
    if (!(resolved[key] > 0)) problems.push(`${key} must be positive, got ${resolved[key]}`);
  }
  if (resolved.onClientIdInUse !== "retry" && resolved.onClientIdInUse !== "next") {
    problems.push(
      `onClientIdInUse must be "retry" or "next", got ${String(resolved.onClientIdInUse)}`,
    );
  }
  if (!resolved.informationalCodes.every((code) => isInteger(code, 0, 2 ** 31 - 1))) {
    problems.push(
      `informationalCodes must be whole numbers, got ${resolved.informationalCodes.join(",")}`,
    );
  }
  if (resolved.accountIds?.length === 0)
    problems.push("accountIds is empty; leave it out to allow all");
  if (problems.length > 0) throw new Error(`invalid IBKR broker options: ${problems.join("; ")}`);
  return resolved;
}

function isInteger(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
