import type { Account } from "@mesh/platform/accounts";
import type { ExecutionDeps } from "./execution-deps.js";
import type { RecordRunEvent } from "./run-event.js";
import type { RunProgress } from "./run-progress.js";

/** What one run works with, passed to each of its steps. */
export interface RunContext {
  /** The adapters and run-wide settings, the same for every run. */
  deps: ExecutionDeps;
  /** The account rebalanced, as configured (settings, replacement set). */
  account: Account;
  /** The run's id; every order carries it as order reference (IBKR orderRef). */
  runId: string;
  /** When the run was accepted: the broker is asked for the run's activity since then. */
  startedAt: Date;
  /** True to trade; false plans and checks only (dry run). */
  live: boolean;
  /** Records an event of the run (the recorder keeps the order of the calls). */
  record: RecordRunEvent;
  /**
   * Where the run stands as recorded so far (the fold of its journal): what it resumes from
   * when its broker link comes back.
   */
  progress(): RunProgress;
  /**
   * Aborted when the process hands the run over (a shutdown past its grace period): the run
   * places nothing more and stops where it stands. Default: never.
   */
  handover?: AbortSignal;
}
