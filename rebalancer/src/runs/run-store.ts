import type { RebalanceResponse, Run } from "@mesh/proto/rebalancer/v1/rebalancer";

/**
 * Where runs and their progress events are recorded. The record is the contract's `Run` message:
 * the audit schema operators read through GetRun. Async so a shared database can back it later.
 */
export interface RunStore {
  /**
   * Records a new run unless one with the same account and idempotency key exists, in which case
   * that one is returned with `created: false` and nothing is written.
   */
  begin(run: Run): Promise<{ run: Run; created: boolean }>;
  /**
   * Replaces the stored record of a run, as it stands after event `throughSequence` (default:
   * after every event appended so far). Reads fold the order events appended since into it.
   */
  save(run: Run, throughSequence?: number): Promise<void>;
  /** Appends one progress event of a run. */
  appendEvent(event: RebalanceResponse): Promise<void>;
  /** The events of a run, in sequence order. */
  events(runId: string): Promise<RebalanceResponse[]>;
  get(runId: string): Promise<Run | undefined>;
  /**
   * Runs of an account, newest first; with `before` (a run id of this account), only the runs
   * recorded before that one: the next page after a page that ended with it.
   */
  list(accountId: string, limit: number, before?: string): Promise<Run[]>;
  /** Runs still marked running, e.g. left by a process that stopped mid-run. */
  running(): Promise<Run[]>;
  /** For the health service: whether the store can be written. */
  health(): { ok: boolean; detail: string };
  close(): Promise<void>;
}
