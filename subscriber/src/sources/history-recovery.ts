import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import type { Logger } from "@mesh/platform/logger";
import type { Gap, GapStore, NewGap } from "../inbox/gap-store.js";
import type { SubscriberMetrics } from "../telemetry/subscriber-metrics.js";

/** A message as read from a channel's history. */
export interface HistoryMessage {
  id: string;
  data: unknown;
  /** When it was published (Ably's timestamp), ms since the epoch. */
  timestamp: number;
}

/** Options of startHistoryRecovery. */
export interface HistoryRecoveryOptions {
  /** Where gaps are recorded, worked on and closed; required, no default. */
  gaps: GapStore;
  /**
   * Reads a channel's history forwards, oldest first, from `start` to `end` (inclusive, ms since
   * the epoch), one page per item; rejects when a page cannot be read; required, no default.
   */
  readHistory(
    channel: string,
    range: { start: number; end: number },
  ): AsyncIterable<HistoryMessage[]>;
  /** Records one message read from history; rejects when the inbox refused it; required. */
  record(channel: string, message: HistoryMessage): Promise<void>;
  /**
   * Messages older than this when a gap is read are not recovered: their stretch is recorded as
   * unrecoverable, ms (REALTIME_RECOVERY_WINDOW); required, no default.
   */
  windowMs: number;
  /** First wait after a failed attempt, ms (exponential with jitter); default 500. */
  retryInitialDelayMs?: number;
  /** Longest wait between attempts, ms; default 30000. */
  retryMaxDelayMs?: number;
  /** Receives gaps recorded, recovered and lost (at error level); required, no default. */
  logger: Logger;
  /** Counts gap_unrecoverable records; default none (nothing is counted). */
  metrics?: SubscriberMetrics;
}

/** The recovery worker, running. */
export interface HistoryRecovery {
  /**
   * Records a gap before anything else is done about it, then reads it from history. When the
   * store refuses the gap, it is held in memory and recorded by the worker's retries.
   */
  learn(gap: NewGap): Promise<void>;
  /** Works every open gap in the store (after a start: restarts resume open gaps). */
  resume(): Promise<void>;
  /** True while a gap of the channel is held in memory: its mark must not move. */
  holding(channel: string): boolean;
  /** Gaps held in memory because the store refused them, per channel. */
  held(): Record<string, number>;
  /** Stops working; open gaps stay recorded for the next start. */
  close(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Works each channel's open gaps, oldest first: pages channel history over the gap, records
 * every message through the intake (the inbox drops those it has), and closes the gap only
 * once all of it was read. A failed attempt is counted on the gap and retried with backoff,
 * unbounded in count and bounded in rate. What cannot be read (older than the window, or
 * history not reaching back to the gap's start) becomes one gap_unrecoverable record.
 */
export function startHistoryRecovery(options: HistoryRecoveryOptions): HistoryRecovery {
  const { gaps, logger, metrics, windowMs } = options;
  const closing = new AbortController();
  const heldGaps = new Map<string, NewGap[]>();
  const loops = new Map<string, Promise<void>>();
  const again = new Set<string>();

  const policy = retry(handleAll, {
    maxAttempts: Number.MAX_SAFE_INTEGER,
    backoff: new ExponentialBackoff({
      initialDelay: options.retryInitialDelayMs ?? 500,
      maxDelay: options.retryMaxDelayMs ?? 30_000,
    }),
  });

  const lost = (record: Gap, extended: boolean) => {
    logger.error(
      {
        gap: record.id,
        channel: record.channel,
        from: iso(record.from),
        to: iso(record.to),
        reason: record.reason,
        acknowledge: `npm run gaps -w subscriber -- ack ${record.id}`,
      },
      extended ? "gap_unrecoverable extended" : "gap_unrecoverable",
    );
    if (!extended) metrics?.gapUnrecoverable(record.channel);
  };

  const recover = async (gap: Gap) => {
    const now = Date.now();
    const windowStart = now - windowMs;
    let from = gap.from;
    if (from < windowStart && gap.cause === "first start") {
      // Nothing before the window was ever expected of a new inbox.
      from = windowStart;
      if (from > gap.to) {
        await gaps.cover(gap.id, { recovered: 0, at: now });
        return;
      }
    } else if (from < windowStart) {
      const { record, extended } = await gaps.giveUp(gap.id, {
        until: Math.min(windowStart, gap.to),
        reason: `older than the recovery window (REALTIME_RECOVERY_WINDOW=${windowMs / 1000} s)`,
        at: now,
      });
      lost(record, extended);
      if (windowStart >= gap.to) return;
      from = windowStart;
    }
    // A message known to be on the channel, read again as evidence that history reaches back.
    const anchor =
      gap.anchorAt !== undefined && gap.anchorAt >= windowStart ? gap.anchorAt : undefined;
    let first: number | undefined;
    let read = 0;
    const range = { start: Math.min(from, anchor ?? from), end: gap.to };
    for await (const page of options.readHistory(gap.channel, range)) {
      for (const message of page) {
        first ??= message.timestamp;
        await options.record(gap.channel, message);
        read++;
      }
    }
    if (anchor !== undefined && (first === undefined || first > Math.max(anchor, from))) {
      // Retention ends after the anchor: what was published before the first message kept
      // (all of the gap when none was) is gone.
      const until = first ?? gap.to;
      const { record, extended } = await gaps.giveUp(gap.id, {
        until,
        reason:
          `channel history does not reach back to ${iso(anchor)} ` +
          (first === undefined ? "(it holds nothing of the gap)" : `(it starts at ${iso(first)})`),
        at: Date.now(),
      });
      lost(record, extended);
      if (until >= gap.to) return;
    }
    await gaps.cover(gap.id, { recovered: read, at: Date.now() });
    logger.info(
      { gap: gap.id, channel: gap.channel, from: iso(from), to: iso(gap.to), read },
      "gap recovered from history",
    );
  };

  /** Records held gaps first, then works the oldest open gap; false when none is left. */
  const step = async (channel: string): Promise<boolean> => {
    const held = heldGaps.get(channel) ?? [];
    while (held.length > 0) {
      const recorded = await gaps.open(held[0]!).catch((err: unknown) => {
        logger.error({ err, channel }, "the inbox still refuses a held gap, retrying");
        throw err;
      });
      held.shift();
      logger.warn({ gap: recorded.id, channel, cause: recorded.cause }, "held gap recorded");
    }
    heldGaps.delete(channel);
    const [gap] = await gaps.listOpen(channel);
    if (!gap) return false;
    try {
      await recover(gap);
    } catch (err) {
      const error = describeError(err);
      await gaps.failed(gap.id, { error, at: Date.now() }).catch(() => undefined);
      // Health reports a recovery failing repeatedly; each attempt is one line, without a stack.
      logger.warn(
        { gap: gap.id, channel, error, failures: gap.failures + 1 },
        "history recovery failed, retrying",
      );
      throw err;
    }
    return true;
  };

  const work = (channel: string) => {
    if (closing.signal.aborted) return;
    if (loops.has(channel)) {
      again.add(channel);
      return;
    }
    const loop = (async () => {
      while (await policy.execute(() => step(channel), closing.signal));
    })()
      .catch((err: unknown) => {
        if (!closing.signal.aborted) logger.error({ err, channel }, "history recovery stopped");
      })
      .finally(() => {
        loops.delete(channel);
        if (again.delete(channel)) work(channel);
      });
    loops.set(channel, loop);
  };

  return {
    learn: async (gap) => {
      try {
        const recorded = await gaps.open(gap);
        // A start always has its gap; the others say continuity was lost.
        const routine = gap.cause === "start-up" || gap.cause === "first start";
        logger[routine ? "info" : "warn"](
          {
            gap: recorded.id,
            channel: gap.channel,
            cause: gap.cause,
            from: iso(gap.from),
            to: iso(gap.to),
          },
          "gap recorded",
        );
      } catch (err) {
        const list = heldGaps.get(gap.channel) ?? [];
        list.push(gap);
        heldGaps.set(gap.channel, list);
        logger.error(
          { err, channel: gap.channel, cause: gap.cause, from: iso(gap.from), to: iso(gap.to) },
          "cannot record the gap; holding it until the inbox takes it",
        );
      }
      work(gap.channel);
    },
    resume: async () => {
      const open = await gaps.listOpen();
      for (const channel of new Set(open.map((g) => g.channel))) work(channel);
    },
    holding: (channel) => (heldGaps.get(channel)?.length ?? 0) > 0,
    held: () => Object.fromEntries([...heldGaps].map(([channel, list]) => [channel, list.length])),
    close: async () => {
      closing.abort();
      // A history page in flight cannot be cancelled: wait a little, then leave it.
      await Promise.race([
        Promise.allSettled([...loops.values()]),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
    },
  };
}

/** A short reason: an Ably error's code and message, else the error's message. */
function describeError(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    return `${String(err.code)} ${String(err.message)}`;
  }
  return err instanceof Error ? err.message : String(err);
}
