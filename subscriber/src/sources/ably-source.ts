import * as Ably from "ably";
import type { Logger } from "@mesh/platform/logger";
import type { RealtimeConfig } from "../config.js";
import type { GapCause } from "../inbox/gap-store.js";
import type { Inbox } from "../inbox/inbox.js";
import type { Intake } from "../intake/intake.js";
import type { RealtimeStatus } from "../status.js";
import type { SubscriberMetrics } from "../telemetry/subscriber-metrics.js";
import { startHistoryRecovery, type HistoryMessage } from "./history-recovery.js";

/** Options of startAblySource. */
export interface AblySourceOptions {
  /** Key, endpoint, SDK timeouts, recovery window and continuity timings (defaults in RealtimeConfig); required. */
  config: RealtimeConfig;
  /** Channels to attach, one per strategy; required, no default. */
  channels: string[];
  /** Every message, live or from history, is recorded through it; required, no default. */
  intake: Intake;
  /** Holds the channels' gaps and marks, and each channel's last recorded message; required. */
  inbox: Inbox;
  /** Receives connection and channel state changes, gaps and recoveries; required, no default. */
  logger: Logger;
  /** Counts gap_unrecoverable records; default none (nothing is counted). */
  metrics?: SubscriberMetrics;
}

/** The realtime connection, running. */
export interface AblySource {
  /** A snapshot of the connection and each channel. */
  status(): RealtimeStatus;
  close(): Promise<void>;
}

/**
 * Holds one Ably realtime connection with one channel per strategy. Every message goes through
 * the intake (recorded before anything else happens). Continuity is kept in the inbox: while a
 * channel is attached without a break, its mark moves forward; whenever continuity may have
 * been lost (the start, an attach that did not resume, a message the inbox refused) the gap
 * from the mark is recorded first, then recovered from history by the recovery worker, which
 * retries until the gap is read or says why it cannot be.
 */
export async function startAblySource(options: AblySourceOptions): Promise<AblySource> {
  const { config, intake, inbox, logger } = options;
  const gaps = inbox.gaps;
  const margin = config.continuityMarginMs;
  const since = () => new Date().toISOString();
  // Written by the SDK's events below, read through status().
  const status: { realtime: RealtimeStatus } = {
    realtime: { enabled: true, state: "initialized", since: since(), channels: {} },
  };
  for (const name of options.channels) {
    status.realtime.channels[name] = { state: "initialized", recovered: 0 };
  }

  // Where this connection was continuous, kept in memory: its gaps start there, even when
  // replicas sharing the database moved the stored mark (the furthest any was continuous) on.
  const marks = new Map<string, number | undefined>();
  for (const name of options.channels) marks.set(name, await gaps.mark(name));

  const realtime = new Ably.Realtime({
    key: config.key,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.port ? { port: config.port } : {}),
    tls: config.tls,
    // Offline or behind a firewall, the SDK's internet probe only delays reconnection.
    disableConnectivityCheck: true,
    // JSON keeps frames readable in logs and proxies; messages are small.
    useBinaryProtocol: false,
    disconnectedRetryTimeout: config.disconnectedRetryTimeoutMs,
    realtimeRequestTimeout: config.realtimeRequestTimeoutMs,
    // Connected only once the gaps of the start are recorded.
    autoConnect: false,
    logLevel: 0,
  });

  const recovery = startHistoryRecovery({
    gaps,
    windowMs: config.recoveryWindowMs,
    retryInitialDelayMs: config.recoveryRetryInitialDelayMs,
    retryMaxDelayMs: config.recoveryRetryMaxDelayMs,
    logger,
    metrics: options.metrics,
    readHistory: async function* (channel, range) {
      let page = await realtime.channels.get(channel).history({
        start: range.start,
        end: range.end,
        direction: "forwards",
        limit: config.historyPageSize,
      });
      for (;;) {
        yield page.items.map((m) => ({ id: m.id, data: m.data, timestamp: m.timestamp }));
        const next = page.hasNext() ? await page.next() : null;
        if (!next) return;
        page = next;
      }
    },
    record: async (channel, message) => {
      await intake.receive(inbound(channel, message, "history"));
      const channelStatus = status.realtime.channels[channel];
      if (channelStatus) channelStatus.recovered += 1;
    },
  });

  /** Records the gap since the channel's mark (or the window, with no mark yet) up to now. */
  const learnGap = async (channel: string, cause: GapCause) => {
    const now = Date.now();
    const mark = marks.get(channel);
    // Before the mark: a link may die before the SDK notices, and clocks differ a little.
    const from = mark === undefined ? now - config.recoveryWindowMs : mark - margin;
    const to = now + margin;
    const anchorAt = await inbox.lastPublishedAt(channel).catch(() => undefined);
    await recovery.learn({
      channel,
      from,
      to,
      cause,
      ...(anchorAt === undefined ? {} : { anchorAt }),
      openedAt: now,
    });
    marks.set(channel, Math.max(mark ?? to, to));
  };

  // Channels known continuous since their last attach: only their marks move.
  const continuous = new Set<string>();
  let checkpointFailing = false;
  const checkpoint = async () => {
    const now = Date.now();
    if (realtime.connection.state !== "connected") return;
    for (const name of continuous) {
      if (realtime.channels.get(name).state !== "attached" || recovery.holding(name)) continue;
      try {
        await gaps.advanceMark(name, now);
        marks.set(name, Math.max(marks.get(name) ?? now, now));
        checkpointFailing = false;
      } catch (err) {
        if (!checkpointFailing) logger.warn({ err, channel: name }, "cannot move the mark");
        checkpointFailing = true;
      }
    }
  };
  const checkpoints = setInterval(() => void checkpoint(), config.checkpointIntervalMs);
  checkpoints.unref();

  realtime.connection.on((change) => {
    status.realtime.state = change.current;
    status.realtime.since = since();
    status.realtime.reason = change.reason
      ? `${change.reason.code} ${change.reason.message}`
      : undefined;
    if (change.current !== "connected") continuous.clear();
    const fields = { state: change.current, previous: change.previous, reason: change.reason };
    if (change.current === "failed") logger.error(fields, "realtime connection failed");
    else if (change.current === "disconnected" || change.current === "suspended") {
      logger.warn(fields, "realtime connection lost");
    } else logger.info(fields, "realtime connection state");
  });

  const received = (channelName: string) => (message: Ably.InboundMessage) =>
    intake.receive(inbound(channelName, message, "realtime")).catch((err: Error) => {
      // Not recorded, so not acknowledged anywhere: the message's own gap brings it back.
      logger.error({ err, channel: channelName, messageId: message.id }, "cannot record");
      void recovery.learn({
        channel: channelName,
        from: message.timestamp,
        to: message.timestamp,
        cause: "inbox write failed",
        anchorAt: message.timestamp,
        openedAt: Date.now(),
      });
    });

  // The start is a gap: everything since the mark may have been missed while down.
  for (const name of options.channels) {
    await learnGap(name, marks.get(name) === undefined ? "first start" : "start-up");
  }
  await recovery
    .resume()
    .catch((err: unknown) =>
      logger.error({ err }, "cannot list open gaps; they are worked on the next gap or start"),
    );

  for (const name of options.channels) {
    const channel = realtime.channels.get(name);
    channel.on((change) => {
      const channelStatus = status.realtime.channels[name]!;
      channelStatus.state = change.current;
      channelStatus.reason = change.reason
        ? `${change.reason.code} ${change.reason.message}`
        : undefined;
      if (change.current === "attached") channelStatus.resumed = change.resumed;
      logger.info(
        { channel: name, state: change.current, resumed: change.resumed, reason: change.reason },
        "channel state",
      );
      if (change.current !== "attached") {
        continuous.delete(name);
      } else if (change.resumed) {
        continuous.add(name);
      } else {
        // Recorded before anything else: from here on, live messages may pass the mark.
        continuous.delete(name);
        void learnGap(name, "not resumed").finally(() => {
          if (channel.state === "attached") continuous.add(name);
        });
      }
    });
    channel.subscribe(received(name)).catch((err: Error) => {
      logger.error({ err, channel: name }, "cannot attach channel");
    });
  }
  realtime.connect();

  return {
    status: () => {
      const held = recovery.held();
      return {
        ...status.realtime,
        channels: Object.fromEntries(
          Object.entries(status.realtime.channels).map(([name, c]) => [name, { ...c }]),
        ),
        ...(Object.keys(held).length > 0 ? { heldGaps: held } : {}),
      };
    },
    close: async () => {
      clearInterval(checkpoints);
      // The channels were continuous up to now: the next start's gap begins here.
      await checkpoint();
      await recovery.close();
      const state = realtime.connection.state;
      if (state === "closed" || state === "failed") return;
      await new Promise<void>((resolve) => {
        const done = setTimeout(resolve, 2000);
        realtime.connection.once("closed", () => {
          clearTimeout(done);
          resolve();
        });
        realtime.close();
      });
    },
  };
}

/** A realtime or history message as the intake takes it. */
function inbound(
  channel: string,
  message: HistoryMessage | Ably.InboundMessage,
  source: "realtime" | "history",
) {
  return {
    channel,
    messageId: message.id,
    data: message.data,
    publishedAt: message.timestamp,
    source,
  };
}
