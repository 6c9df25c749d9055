import type { Notification } from "./notification.js";
import type { StoredTraceContext } from "../stored-trace-context.js";

/** A notification waiting for one target. */
export interface OutboxRow {
  notification: Notification;
  /** The target's key (NotifyTarget.key). */
  target: string;
  /** Attempts that failed so far. */
  attempts: number;
  /** When it was recorded, ms since the epoch. */
  createdAt: number;
  /** Where the outcome was reached, for the attempts' spans to join its trace. */
  trace: StoredTraceContext;
}

/** Rows by state, for status and tests. */
export interface OutboxCounts {
  pending: number;
  delivered: number;
  /** Given up: refused for good by the receiver, or its target is no longer configured. */
  abandoned: number;
}

/**
 * The durable record of notifications still to be delivered, one row per notification and
 * target, written when the outcome is reached and kept until the receiver took it: delivery is
 * at least once, across restarts. SQLite for one process; PostgreSQL when replicas share it.
 */
export interface NotificationOutbox {
  /**
   * Whether other processes share it (replicas on one database): they record rows for receivers
   * this one may lack, and send some receivers' rows in its place.
   */
  readonly shared: boolean;
  /** Records the notification for each target, once: a repeat of an (id, target) changes nothing. */
  add(
    notification: Notification,
    targets: readonly string[],
    trace?: StoredTraceContext,
  ): Promise<void>;
  /**
   * The oldest undelivered row of a target (they are delivered in order), for this process to
   * send; undefined when none, or when another process sharing the outbox sends that target's.
   */
  next(target: string): Promise<OutboxRow | undefined>;
  /** Keys of the targets that have undelivered rows. */
  pendingTargets(): Promise<string[]>;
  /** Counts a failed attempt, with what went wrong (kept for operators). */
  attemptFailed(id: string, target: string, error: string): Promise<void>;
  delivered(id: string, target: string): Promise<void>;
  /** Gives a row up, with the reason; it is never sent again. */
  abandon(id: string, target: string, reason: string): Promise<void>;
  counts(): Promise<OutboxCounts>;
  close(): Promise<void>;
}
