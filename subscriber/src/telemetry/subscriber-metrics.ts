import type { BatchObservableCallback, Meter } from "@opentelemetry/api";
import { entryStates, type EntrySource, type Inbox } from "../inbox/inbox.js";
import type { SubscriberStatus } from "../status.js";

/** How one delivery attempt ended, as counted. */
export type DeliveryOutcomeName =
  /** The rebalancer answered with a finished run or a print command's answer. */
  | "done"
  /** The run was postponed (market closed); the entry waits for the time given. */
  | "postponed"
  /** The run itself failed; dead-lettered. */
  | "failed"
  /** Refused with a permanent code (bad account, live guard); dead-lettered. */
  | "refused"
  /** A transient failure; the entry waits in the inbox for another attempt. */
  | "retry"
  /** A transient failure past the entry's max age; dead-lettered. */
  | "expired"
  /** Cut off by the subscriber's shutdown; back to pending. */
  | "interrupted";

/** What the subscriber counts; the observed gauges are read at each scrape. */
export interface SubscriberMetrics {
  /** One message taken in, and whether it was rejected and whether it recorded nothing new. */
  messageReceived(
    message: { channel: string; source: EntrySource },
    outcome: { rejected: boolean; duplicate: boolean },
  ): void;
  /** One delivery attempt (its quick retries included) ended. */
  deliveryFinished(outcome: DeliveryOutcomeName, durationMs: number): void;
  /** A gap_unrecoverable record was made for a channel. */
  gapUnrecoverable(channel: string): void;
  /** Stops observing the inbox and the status (the subscriber closed; the meter lives on). */
  close(): void;
}

/** Options of createSubscriberMetrics. */
export interface SubscriberMetricsOptions {
  /** Where the instruments are created (the Prometheus exporter's); required, no default. */
  meter: Meter;
  /** Its counts by state are the inbox depth gauge; required, no default. */
  inbox: Inbox;
  /** Circuit state and rebalancer reachability, asked at each scrape; required. */
  status(): Pick<SubscriberStatus, "circuit" | "rebalancer">;
  /** Channels with accounts; any other channel is counted as "other"; required. */
  channels: string[];
}

/** The breaker's states, as the dispatcher names them in the status. */
const circuitStates = ["closed", "open", "half-open", "isolated"];

/**
 * Registers the subscriber's instruments: events received / rejected / duplicated by channel and
 * source, deliveries by outcome with their duration, inbox depth by state, circuit state,
 * rebalancer reachability, gap_unrecoverable records and gaps open or not acknowledged.
 */
export function createSubscriberMetrics(options: SubscriberMetricsOptions): SubscriberMetrics {
  const { meter, inbox } = options;
  const known = new Set(options.channels);
  const received = meter.createCounter("subscriber.events.received", {
    description: "Messages received, by channel and source",
  });
  const rejected = meter.createCounter("subscriber.events.rejected", {
    description: "Messages recorded as rejected (bad payload or no account on the channel)",
  });
  const duplicated = meter.createCounter("subscriber.events.duplicated", {
    description: "Messages that recorded nothing new: every entry was already in the inbox",
  });
  const deliveries = meter.createCounter("subscriber.deliveries", {
    description: "Delivery attempts by outcome",
  });
  const deliveryDuration = meter.createHistogram("subscriber.delivery.duration", {
    description: "Duration of a delivery attempt, quick retries included, by outcome",
    unit: "ms",
  });
  const inboxDepth = meter.createObservableGauge("subscriber.inbox.entries", {
    description: "Inbox entries by state",
  });
  const circuit = meter.createObservableGauge("subscriber.circuit.state", {
    description: "1 for the delivery circuit breaker's current state, 0 for the others",
  });
  const reachable = meter.createObservableGauge("subscriber.rebalancer.reachable", {
    description: "1 when the last call reached the rebalancer, 0 when it did not",
  });
  const unrecoverable = meter.createCounter("subscriber.gaps.unrecoverable", {
    description: "gap_unrecoverable records: stretches of a channel that history could not cover",
  });
  const gapGauge = meter.createObservableGauge("subscriber.gaps", {
    description: "Realtime gaps open (being recovered) and unrecoverable ones not acknowledged",
  });
  const observed = [inboxDepth, circuit, reachable, gapGauge];

  const observe: BatchObservableCallback = async (result) => {
    // A closed or failing inbox leaves the depth out rather than failing the whole scrape.
    const counts = await inbox.counts().catch(() => undefined);
    const gaps = await inbox.gaps.counts().catch(() => undefined);
    const status = options.status();
    if (gaps) {
      result.observe(gapGauge, gaps.open, { "gap.state": "open" });
      result.observe(gapGauge, gaps.unacknowledged, { "gap.state": "unacknowledged" });
    }
    for (const state of entryStates) {
      if (counts) result.observe(inboxDepth, counts[state], { "inbox.state": state });
    }
    for (const state of circuitStates) {
      result.observe(circuit, status.circuit === state ? 1 : 0, { "circuit.state": state });
    }
    // Unknown until the first call or probe: no value rather than a misleading 0.
    if (status.rebalancer.reachable !== undefined) {
      result.observe(reachable, status.rebalancer.reachable ? 1 : 0);
    }
  };
  meter.addBatchObservableCallback(observe, observed);

  return {
    messageReceived: (message, outcome) => {
      // Channels come from request paths too: unknown ones share one label to bound the series.
      const attributes = {
        "event.channel": known.has(message.channel) ? message.channel : "other",
        "event.source": message.source,
      };
      received.add(1, attributes);
      if (outcome.rejected) rejected.add(1, attributes);
      if (outcome.duplicate) duplicated.add(1, attributes);
    },
    deliveryFinished: (outcome, durationMs) => {
      deliveries.add(1, { "delivery.outcome": outcome });
      deliveryDuration.record(durationMs, { "delivery.outcome": outcome });
    },
    gapUnrecoverable: (channel) => {
      unrecoverable.add(1, { "event.channel": known.has(channel) ? channel : "other" });
    },
    close: () => meter.removeBatchObservableCallback(observe, observed),
  };
}
