import * as Ably from "ably";
import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import type { Logger } from "@mesh/platform/logger";
import type { RealtimeConfig } from "../config.js";
import type { Inbox } from "../inbox/inbox.js";
import type { Intake } from "../intake/intake.js";
import type { RealtimeStatus } from "../status.js";

/** Options of startAblySource. */
export interface AblySourceOptions {
  /** Key, endpoint, SDK timeouts and recovery window (defaults in RealtimeConfig); required. */
  config: RealtimeConfig;
  /** Channels to attach, one per strategy; required, no default. */
  channels: string[];
  /** Every message, live or from history, is recorded through it; required, no default. */
  intake: Intake;
  /** Read for each channel's last recorded message, where history recovery starts; required. */
  inbox: Inbox;
  /** Receives connection and channel state changes and recoveries; required, no default. */
  logger: Logger;
}

/** The realtime connection, running. */
export interface AblySource {
  /** A snapshot of the connection and each channel. */
  status(): RealtimeStatus;
  close(): Promise<void>;
}

/**
 * Holds one Ably realtime connection with one channel per strategy. Every message goes through
 * the intake (recorded before anything else happens). When a channel attaches without
 * continuity (first attach, or after a gap longer than Ably keeps connection state), messages
 * since the channel's last recorded one, bounded by the recovery window, are fetched from
 * history; the inbox drops those already seen.
 */
export function startAblySource(options: AblySourceOptions): AblySource {
  const { config, intake, inbox, logger } = options;
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
    logLevel: 0,
  });
  const since = () => new Date().toISOString();
  // Written by the SDK's events below, read through status().
  const status: { realtime: RealtimeStatus } = {
    realtime: { enabled: true, state: realtime.connection.state, since: since(), channels: {} },
  };

  realtime.connection.on((change) => {
    status.realtime.state = change.current;
    status.realtime.since = since();
    status.realtime.reason = change.reason
      ? `${change.reason.code} ${change.reason.message}`
      : undefined;
    const fields = { state: change.current, previous: change.previous, reason: change.reason };
    if (change.current === "failed") logger.error(fields, "realtime connection failed");
    else if (change.current === "disconnected" || change.current === "suspended") {
      logger.warn(fields, "realtime connection lost");
    } else logger.info(fields, "realtime connection state");
  });

  const received = (channelName: string, source: "realtime" | "history") => {
    return (message: Ably.InboundMessage) =>
      intake
        .receive({
          channel: channelName,
          messageId: message.id,
          data: message.data,
          publishedAt: message.timestamp,
          source,
        })
        .catch((err: Error) => {
          // The inbox refused the write: the message is not acknowledged anywhere, so the
          // history recovery on the next discontinuity is its way back.
          logger.error({ err, channel: channelName, messageId: message.id }, "cannot record");
        });
  };

  // A failed history read is retried until it succeeds: unbounded in count, bounded in rate.
  const closing = new AbortController();
  const recoveryRetry = retry(handleAll, {
    maxAttempts: Number.MAX_SAFE_INTEGER,
    backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 30_000 }),
  });
  recoveryRetry.onRetry((reason) =>
    logger.error(
      { err: "error" in reason ? reason.error : undefined },
      "history recovery failed, retrying",
    ),
  );

  const recover = async (channel: Ably.RealtimeChannel) => {
    const windowStart = Date.now() - config.recoveryWindowMs;
    const last = await inbox.lastPublishedAt(channel.name);
    // Overlap a little: messages with the same timestamp as the last one may not all be in.
    // The start is fixed once, when the gap is learnt, so live messages recorded while retrying
    // cannot move it past the gap.
    const start = Math.max(windowStart, (last ?? windowStart) - 1000);
    await recoveryRetry.execute(() => readHistory(channel, start), closing.signal);
  };

  const readHistory = async (channel: Ably.RealtimeChannel, start: number) => {
    let page: Ably.PaginatedResult<Ably.InboundMessage> | null = await channel.history({
      start,
      direction: "forwards",
      untilAttach: true,
      limit: 1000,
    });
    let count = 0;
    const deliver = received(channel.name, "history");
    while (page) {
      for (const message of page.items) {
        await deliver(message);
        count++;
      }
      page = page.hasNext() ? await page.next() : null;
    }
    const channelStatus = status.realtime.channels[channel.name];
    if (channelStatus) channelStatus.recovered += count;
    logger.info(
      { channel: channel.name, since: new Date(start).toISOString(), count },
      "history recovered",
    );
  };

  for (const name of options.channels) {
    const channel = realtime.channels.get(name);
    status.realtime.channels[name] = { state: channel.state, recovered: 0 };
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
      if (change.current === "attached" && !change.resumed) {
        recover(channel).catch((err: Error) =>
          logger.error({ err, channel: name }, "history recovery failed"),
        );
      }
    });
    channel.subscribe(received(name, "realtime")).catch((err: Error) => {
      logger.error({ err, channel: name }, "cannot attach channel");
    });
  }

  return {
    status: () => ({
      ...status.realtime,
      channels: Object.fromEntries(
        Object.entries(status.realtime.channels).map(([name, c]) => [name, { ...c }]),
      ),
    }),
    close: async () => {
      closing.abort();
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
