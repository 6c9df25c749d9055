/**
 * Where a gap stands: being recovered (`open`), read from history (`covered`), or lost for good
 * (`unrecoverable`: a gap_unrecoverable record, kept until an operator acknowledges it).
 */
export type GapState = "open" | "covered" | "unrecoverable";

/** Every gap state, in the order they are reported. */
export const gapStates: readonly GapState[] = ["open", "covered", "unrecoverable"];

/** How the subscriber learnt of a gap. */
export type GapCause =
  /**
   * The service started with no mark for the channel (a new inbox): the recovery window is
   * read, and nothing older was ever expected, so nothing older is reported lost.
   */
  | "first start"
  /** The service started: everything since the channel's mark may have been missed. */
  | "start-up"
  /** A channel attached without continuity (resume refused or expired, or a discontinuity). */
  | "not resumed"
  /** A message arrived but the inbox refused to record it. */
  | "inbox write failed";

/** A stretch of a channel's timeline whose messages may not all be in the inbox. */
export interface NewGap {
  channel: string;
  /** Start of the stretch, ms since the epoch (Ably timestamps). */
  from: number;
  /** End of the stretch, inclusive, ms since the epoch. */
  to: number;
  cause: GapCause;
  /**
   * Publication time of a message known to have been on the channel at or before the end of
   * the stretch (the last one recorded before it, or the one the inbox refused): history that
   * holds neither it nor anything before `from` does not reach back far enough. Unset when no
   * such message is known.
   */
  anchorAt?: number;
  /** When it was learnt, ms since the epoch. */
  openedAt: number;
}

/** A gap as recorded. */
export interface Gap extends NewGap {
  id: number;
  state: GapState;
  /** When it was covered or found unrecoverable. */
  closedAt?: number;
  /** Recovery attempts that failed (while open: failures in a row, since success closes it). */
  failures: number;
  /** Why the last attempt failed; "" when none did. */
  lastError: string;
  lastAttemptAt?: number;
  /** Messages read from history for it (duplicates included). */
  recovered: number;
  /** Why an unrecoverable gap could not be read, e.g. "older than the recovery window (600 s)". */
  reason: string;
  /** When an operator acknowledged an unrecoverable gap; unset until then. */
  acknowledgedAt?: number;
  /**
   * Who acknowledged it: what said so and who was verified, e.g. "cli (alice)" from the gaps CLI,
   * "console (key 1a2b3c4d)" over SubscriberService.AcknowledgeGap.
   */
  acknowledgedBy?: string;
}

/** Gaps by state, and unrecoverable ones not yet acknowledged. */
export interface GapCounts extends Record<GapState, number> {
  unacknowledged: number;
}

/**
 * Continuity of the realtime channels, kept in the inbox's database: each gap is a durable
 * obligation recorded before anything else is done about it, closed only once history covered
 * it, or turned into a gap_unrecoverable record that stays until acknowledged. Each channel also
 * has a mark: every message published before it is in the inbox or inside a recorded gap.
 * SQLite by default; another database implements the same contract (gap-store.contract.ts).
 */
export interface GapStore {
  /**
   * Records an open gap and moves the channel's mark to at least `to`, in one transaction, so
   * the mark never passes a stretch that is neither recorded nor a gap.
   */
  open(gap: NewGap): Promise<Gap>;
  /** The channel's mark, ms since the epoch; undefined before the channel's first gap or advance. */
  mark(channel: string): Promise<number | undefined>;
  /** Moves the channel's mark forward to `at` (never back): the channel was continuous until then. */
  advanceMark(channel: string, at: number): Promise<void>;
  /** Open gaps, oldest `from` first; only the channel's when given. */
  listOpen(channel?: string): Promise<Gap[]>;
  /** Gaps newest first, of one state when given; default limit 100. */
  list(filter?: { state?: GapState; limit?: number }): Promise<Gap[]>;
  get(id: number): Promise<Gap | undefined>;
  /** Counts a failed recovery attempt of an open gap, with its reason. */
  failed(id: number, failure: { error: string; at: number }): Promise<void>;
  /**
   * Closes an open gap as covered; `recovered` messages were read for it. False when the gap is
   * not open (closed already, or turned unrecoverable).
   */
  cover(id: number, outcome: { recovered: number; at: number }): Promise<boolean>;
  /**
   * Records that the open gap's messages before `until` cannot be recovered, for `reason`, as
   * one gap_unrecoverable record: the gap continues from `until`, or, when `until` reaches its
   * end, is lost whole. A loss touching or overlapping an unacknowledged one of the same channel
   * extends that record rather than adding another (one outage, one record). Returns the record
   * and whether it is new.
   */
  giveUp(
    id: number,
    loss: { until: number; reason: string; at: number },
  ): Promise<{ record: Gap; extended: boolean }>;
  /** Unrecoverable gaps no operator acknowledged yet, oldest first. */
  unacknowledged(): Promise<Gap[]>;
  /** Acknowledges an unrecoverable gap; false when there is no unacknowledged one with that id. */
  acknowledge(id: number, by: { who: string; at: number }): Promise<boolean>;
  counts(): Promise<GapCounts>;
}
