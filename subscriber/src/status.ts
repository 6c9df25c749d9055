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

/** The realtime connection, as the Ably source reports it. */
export interface RealtimeStatus {
  /** False when no REALTIME_API_KEY is configured (webhook ingress only). */
  enabled: boolean;
  /** Ably connection state: initialized, connecting, connected, disconnected, suspended, closed, failed. */
  state: string;
  /** Reason of the last connection state change, e.g. "40101 Invalid key in request". */
  reason?: string;
  since: string;
  channels: Record<string, ChannelStatus>;
  /** Gaps the inbox refused to record, held in memory until it takes them, per channel. */
  heldGaps?: Record<string, number>;
}

/** Whether the rebalancer answers, as deliveries and probes found. */
export interface RebalancerStatus {
  url: string;
  /** Unknown (undefined) until the first call; then whether the last call reached it. */
  reachable?: boolean;
  /**
   * Unknown until a call was answered; false once the rebalancer refused the subscriber's key
   * (Unauthenticated or PermissionDenied), until an answer accepts it again.
   */
  authorized?: boolean;
  lastError?: string;
  lastSuccessAt?: string;
}

/** What the intake saw, since the start. */
export interface IntakeStatus {
  /** Last time a message arrived per channel, from any source. */
  lastEventAt: Record<string, string>;
  /** Messages refused since the start because their eventId was recorded with another command. */
  eventConflicts: number;
}

/**
 * What the subscriber knows about itself: a snapshot composed from each component's status()
 * (Ably source, dispatcher, rebalancer reachability, intake) when it is asked for.
 */
export interface SubscriberStatus extends IntakeStatus {
  startedAt: string;
  tradingMode: string;
  realtime: RealtimeStatus;
  rebalancer: RebalancerStatus;
  /** Delivery circuit breaker: closed, open, half-open or isolated. */
  circuit: string;
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
