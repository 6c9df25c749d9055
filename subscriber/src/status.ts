/** Realtime state of one channel, as the status endpoint shows it. */
export interface ChannelStatus {
  /** Ably channel state: initialized, attaching, attached, detached, suspended, failed. */
  state: string;
  /** Reason of the last state change, when Ably gave one. */
  reason?: string;
  /** Whether the last attach continued without a gap. */
  resumed?: boolean;
  /** Messages brought back from history after attaches without resume. */
  recovered: number;
}

/** What the subscriber knows about itself; components update it, the status endpoint reads it. */
export interface SubscriberStatus {
  startedAt: string;
  tradingMode: string;
  realtime: {
    /** False when no REALTIME_API_KEY is configured (webhook ingress only). */
    enabled: boolean;
    /** Ably connection state: initialized, connecting, connected, disconnected, suspended, closed, failed. */
    state: string;
    /** Reason of the last connection state change, e.g. "40101 Invalid key in request". */
    reason?: string;
    since: string;
    channels: Record<string, ChannelStatus>;
  };
  /** Last time a message arrived per channel, from any source. */
  lastEventAt: Record<string, string>;
  rebalancer: {
    url: string;
    /** Unknown (undefined) until the first call; then whether the last call reached it. */
    reachable?: boolean;
    lastError?: string;
    lastSuccessAt?: string;
  };
  /** Delivery circuit breaker: closed, open, half-open or isolated. */
  circuit: string;
  /** Messages refused since the start because their eventId was recorded with another command. */
  eventConflicts: number;
}

/** SubscriberStatus without its private details. */
export type PublicStatus = Omit<SubscriberStatus, "rebalancer" | "realtime"> & {
  realtime: Omit<SubscriberStatus["realtime"], "reason" | "channels"> & {
    channels: Record<string, Omit<ChannelStatus, "reason">>;
  };
  rebalancer: Omit<SubscriberStatus["rebalancer"], "url" | "lastError">;
};

/**
 * The status as an unauthenticated caller sees it: states and counts, without reasons, last
 * errors or addresses (they can name hosts, paths and accounts).
 */
export function publicStatus(status: SubscriberStatus): PublicStatus {
  const channels = Object.fromEntries(
    Object.entries(status.realtime.channels).map(([name, { reason: _, ...channel }]) => [
      name,
      channel,
    ]),
  );
  const { reason: _reason, ...realtime } = status.realtime;
  const { lastError: _error, url: _url, ...rebalancer } = status.rebalancer;
  return {
    ...status,
    realtime: { ...realtime, channels },
    rebalancer,
  };
}

/** A fresh status with nothing known yet. */
export function createStatus(options: {
  tradingMode: string;
  rebalancerUrl: string;
  realtimeEnabled: boolean;
}): SubscriberStatus {
  const now = new Date().toISOString();
  return {
    startedAt: now,
    tradingMode: options.tradingMode,
    realtime: {
      enabled: options.realtimeEnabled,
      state: options.realtimeEnabled ? "initialized" : "disabled",
      since: now,
      channels: {},
    },
    lastEventAt: {},
    rebalancer: { url: options.rebalancerUrl },
    circuit: "closed",
    eventConflicts: 0,
  };
}
