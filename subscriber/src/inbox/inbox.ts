import type { EventCommand } from "../intake/parse-event.js";
import type { GapStore } from "./gap-store.js";

/**
 * Where an entry stands: waiting (`pending`, possibly until `nextAttemptAt`), being delivered
 * (`in_flight`), delivered (`done`), given up with a reason (`dead`), never deliverable
 * because its payload was invalid or nobody was listening (`rejected`), or a dead letter an
 * operator gave up on for good (`discarded`, kept with its reason for the record).
 */
export type EntryState = "pending" | "in_flight" | "done" | "dead" | "rejected" | "discarded";

/** Every state, in the order they are reported. */
export const entryStates: readonly EntryState[] = [
  "pending",
  "in_flight",
  "done",
  "dead",
  "rejected",
  "discarded",
];

/** Which ingress a message came through. */
export type EntrySource = "realtime" | "history" | "webhook" | "http";

/** A message as the inbox records it, before it gets an id. */
export interface NewEntry {
  /** Account the entry is for; "" for a rejected message that reaches no account. */
  accountId: string;
  channel: string;
  /** De-duplication key: the payload's eventId, else the Ably message id. */
  eventKey: string;
  /** Ably message id (or the ingress's own id for plain HTTP events). */
  messageId: string;
  /** eventId of the payload, "" when it had none. */
  eventId: string;
  source: EntrySource;
  /** The command, or "" for a rejected payload. */
  command: EventCommand | "";
  /** The payload as received, JSON text. */
  payload: string;
  state: "pending" | "rejected";
  /** Why a rejected entry was rejected; "" otherwise. */
  reason: string;
  /** When the publisher published it (Ably timestamp), ms since the epoch. */
  publishedAt: number;
  /** When the subscriber received it, ms since the epoch. */
  receivedAt: number;
  /**
   * W3C `traceparent` of the span that received the message; deliveries, possibly after a
   * restart, continue its trace. Unset or "" when tracing was off.
   */
  traceparent?: string;
  /** W3C `tracestate` going with `traceparent`; unset or "" when none. */
  tracestate?: string;
}

/** One recorded entry. */
export interface InboxEntry extends Omit<NewEntry, "state"> {
  id: number;
  state: EntryState;
  /** Delivery attempts so far (each may include several quick retries). */
  attempts: number;
  /**
   * Bumped when the entry must run again as a new run (after a postponement or a re-drive), so
   * the idempotency key changes; 0 at first.
   */
  generation: number;
  /** Max age is counted from here: first receipt, a postponement's due time or a re-drive. */
  ageFrom: number;
  /** A pending entry is not delivered before this time, ms since the epoch. */
  nextAttemptAt: number;
  updatedAt: number;
  /** Run id given by the rebalancer, once known. */
  runId: string;
  /** Outcome for humans: the run's message or a print command's answer. */
  result: string;
  /** "" for entries recorded without tracing (or before the inbox kept trace context). */
  traceparent: string;
  tracestate: string;
}

/** How long rejected entries (junk) are kept, in any store. */
export interface InboxRetention {
  /** Rejected entries kept at most, newest first; default 1000. */
  rejectedKeep?: number;
  /** Rejected entries older than this are deleted, ms; default 7 days. */
  rejectedMaxAgeMs?: number;
}

/** Filter of Inbox.list. */
export interface ListFilter {
  state?: EntryState;
  /** Newest first; default 100. */
  limit?: number;
  /** Only entries with a smaller id (older): the last id of the previous page; default none. */
  beforeId?: number;
}

/**
 * The durable inbox: every message is recorded here before it is acknowledged and delivered from
 * here, so nothing is lost across restarts, and the gaps of the realtime channels are obligations
 * recorded beside the messages. SQLite by default (one process per file); PostgreSQL when replicas
 * share it, where every write below is safe with several replicas at once (inbox.contract.ts).
 */
export interface Inbox {
  /**
   * Records entries in one transaction; an entry whose (accountId, eventKey) was already
   * recorded is skipped. Returns the entries that were new. Rejected entries beyond the
   * retention limits (count, age) are deleted, oldest first, so junk cannot grow the inbox.
   */
  record(entries: NewEntry[]): Promise<InboxEntry[]>;
  /**
   * Takes the oldest due pending entry of an account not in `busyAccounts` and with no entry in
   * flight, and marks it in_flight; undefined when none is due. With a shared database the claim
   * is exclusive across replicas, and an entry whose claimer stopped renewing it is due again.
   */
  claimNext(now: number, busyAccounts: ReadonlySet<string>): Promise<InboxEntry | undefined>;
  /**
   * Marks an entry claimNext handed out done with its run id and outcome. This and the other
   * outcomes (reschedule, kill) are written only while the claim is still this inbox's: with a
   * shared database, nothing changes once the claim lapsed and another replica took the entry.
   */
  complete(id: number, outcome: { runId: string; result: string }): Promise<void>;
  /**
   * Puts an entry claimNext handed out back to pending until `at`. `newRun` bumps the generation
   * and restarts its age (a postponed run must run again as a new run).
   */
  reschedule(
    id: number,
    change: { at: number; reason: string; runId?: string; newRun?: boolean },
  ): Promise<void>;
  /** Dead-letters an entry claimNext handed out, with the reason. */
  kill(id: number, reason: string, runId?: string): Promise<void>;
  /**
   * Sends a dead entry back to pending as a new run (new idempotency key), its age restarted.
   * Returns false when there is no dead entry with that id.
   */
  redrive(id: number, now: number): Promise<boolean>;
  /**
   * Gives up on a dead entry for good: `discarded`, its reason kept, never delivered (its event
   * key stays taken, so the event is not recorded again). False when there is no dead entry
   * with that id.
   */
  discard(id: number, now: number): Promise<boolean>;
  /**
   * Returns in_flight entries whose delivery was interrupted to pending, on start: in SQLite all
   * of them (one process per file); in a shared database those whose claim lapsed (another
   * replica may be delivering the others).
   */
  recoverInFlight(): Promise<number>;
  /** Adds one attempt to an entry's count. */
  countAttempt(id: number): Promise<void>;
  get(id: number): Promise<InboxEntry | undefined>;
  /** The entry recorded for an account and event key, if any. */
  find(accountId: string, eventKey: string): Promise<InboxEntry | undefined>;
  list(filter?: ListFilter): Promise<InboxEntry[]>;
  counts(): Promise<Record<EntryState, number>>;
  /**
   * Earliest nextAttemptAt of a pending entry whose account has no entry in flight, for the
   * dispatcher's timer (the end of a delivery wakes it for that account's next entry).
   */
  nextDueAt(): Promise<number | undefined>;
  /**
   * The pending or in-flight entry waiting longest (smallest ageFrom not after `now`: a run
   * postponed to a later time is not waiting yet), for health; undefined when none.
   */
  oldestWaiting(now: number): Promise<InboxEntry | undefined>;
  /** Resolves once a write was committed; rejects with the reason when the inbox cannot write. */
  checkWritable(): Promise<void>;
  /** The realtime channels' gaps and marks, in the same database. */
  readonly gaps: GapStore;
  /**
   * Latest publishedAt of the messages that came over the realtime connection (live or from
   * history) on a channel: where continuity recovery starts. Other sources do not count, since a
   * webhook or local event after a gap says nothing about what the connection missed.
   */
  lastPublishedAt(channel: string): Promise<number | undefined>;
  /**
   * Calls `listener` whenever entries were recorded or re-driven by any process sharing the
   * database, so a replica delivers at once rather than at its next poll (PostgreSQL: LISTEN/
   * NOTIFY). SQLite never calls it: its own intake wakes the dispatcher, and the poll finds the
   * CLI's re-drives. Returns a function that stops the calls.
   */
  watch(listener: () => void): () => void;
  close(): Promise<void>;
}
