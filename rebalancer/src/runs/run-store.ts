import type { RebalanceResponse, Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { JournalEntry } from "./journal-entry.js";
import type { RecordedEvent } from "./recorded-event.js";

/**
 * Where runs are recorded: each run's journal (its events, appended one at a time: the run is
 * the fold of them), and its record in the contract's `Run` form, the audit schema operators
 * read through GetRun. Async: a shared database (PostgreSQL) backs it for replicas.
 */
export interface RunStore {
  /**
   * Records a new run, its journal starting with `accepted` (one transaction), unless one with
   * the same account and idempotency key exists: then that one's record is returned with
   * `created: false` and nothing is written.
   */
  begin(accepted: RecordedEvent): Promise<{ run: Run; created: boolean }>;
  /** Appends one event to its run's journal: one row, whatever the size of the run. */
  appendEvent(event: RecordedEvent): Promise<void>;
  /** Stores the final record of a run that ended (the fold of its journal), once. */
  finish(run: Run): Promise<void>;
  /** A run's journal, in sequence order; [] for an unknown run. */
  events(runId: string): Promise<RecordedEvent[]>;
  /**
   * The events of every run recorded after `position` (0: from the first), in the order they
   * were recorded, at most `limit`: what a watch replays and follows (WatchRuns). Positions
   * must become readable in order: once a read has returned position n, no event below n may
   * appear later, or a watch past it would miss that event for good. SQLite commits one write
   * at a time; a shared database must make it so (e.g. on PostgreSQL, journal inserts that take
   * one advisory transaction lock, or reads that stop below the oldest transaction in flight).
   */
  eventsAfter(position: number, limit: number): Promise<JournalEntry[]>;
  /** The position of the last event recorded, of any run; 0 when none is. */
  lastPosition(): Promise<number>;
  /** The Rebalance stream as the run told it, for a replay of its idempotency key. */
  responses(runId: string): Promise<RebalanceResponse[]>;
  /** A run's record: its final one once it ended, else the fold of its journal so far. */
  get(runId: string): Promise<Run | undefined>;
  /**
   * Runs of an account, newest first; with `before` (a run id of this account), only the runs
   * recorded before that one: the next page after a page that ended with it.
   */
  list(accountId: string, limit: number, before?: string): Promise<Run[]>;
  /** The run of an account with this idempotency key, if any. */
  find(accountId: string, idempotencyKey: string): Promise<Run | undefined>;
  /** Runs still marked running, e.g. left by a process that stopped mid-run. */
  running(): Promise<Run[]>;
  /** For the health service: whether the store can be written. */
  health(): { ok: boolean; detail: string };
  close(): Promise<void>;
}
