import { randomUUID } from "node:crypto";
import type { Account } from "@mesh/platform/accounts";
import type { Logger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  RunStatus,
  type RebalanceResponse,
  type Trigger,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { AccountGate } from "../accounts/account-gate.js";
import { executeRun } from "../execution/execute-run.js";
import type { ExecutionDeps } from "../execution/execution-deps.js";
import type { RunMetrics } from "../run-metrics.js";
import { interruptedOutcome } from "./interrupted-outcome.js";
import type { RunTrigger } from "./run-header.js";
import { recordMessage } from "./run-message.js";
import { RunRecorder } from "./run-recorder.js";
import { RunRefusal } from "./run-refusal.js";
import { runStatus } from "./run-status.js";
import type { RunStore } from "./run-store.js";

/** What a caller asks for; mirrors RebalanceRequest without the transport. */
export interface RunRequest {
  /** The account to rebalance, as configured in accounts.yaml. */
  accountId: string;
  /** LIVE trades; DRY_RUN and UNSPECIFIED plan only; any other value is refused. */
  mode: ExecutionMode;
  /** A repeat returns the run of the first request; "" makes a fresh key (no protection). */
  idempotencyKey: string;
  /** Who or what asked; default { source: "unknown" }. */
  trigger?: Trigger;
  /** When the account is busy: wait for its run (true) or refuse as busy (false). */
  waitIfBusy: boolean;
}

/** Options of createRunCoordinator. */
export interface RunCoordinatorOptions {
  /** Where runs are recorded; no default. */
  store: RunStore;
  /** Which accounts exist and may trade (lookup, enabled, live guard); no default. */
  gate: AccountGate;
  /** What every run needs: broker, allocations, clock and timeouts; no default. */
  execution: ExecutionDeps;
  /** Logs each run's start and end; no default. */
  logger: Logger;
  /** Counts runs by mode and outcome; default counts nothing. */
  metrics?: RunMetrics;
}

/** Starts runs: one per account at a time, one per idempotency key ever, behind the live guard. */
export interface RunCoordinator {
  /**
   * Starts (or, for a known idempotency key, replays) a run and returns its event stream. Throws
   * an AccountRefusal or RunRefusal when the run cannot start; the stream throws a RunRefusal if
   * the run had to stop unrecorded.
   */
  start(request: RunRequest): Promise<AsyncIterable<RebalanceResponse>>;
  /** Marks runs left running by a stopped process as interrupted. */
  recover(): Promise<number>;
  /** Stops accepting runs and waits up to `graceMs` for running ones to finish. */
  drain(graceMs: number): Promise<boolean>;
  /** Ids of the runs in progress. */
  running(): string[];
  /** True while a run of the account is in progress. */
  isBusy(accountId: string): boolean;
}

export function createRunCoordinator(options: RunCoordinatorOptions): RunCoordinator {
  const { store, gate, logger } = options;
  // By account id. `recorded` turns true once the store has the run: until then the claim may
  // turn out to be a repeat of a finished run, whose recorder never gets an event.
  const active = new Map<
    string,
    { recorder: RunRecorder; done: Promise<void>; recorded: boolean; begun: Promise<unknown> }
  >();
  let draining = false;
  const shuttingDown = () =>
    new RunRefusal("shutting_down", "the rebalancer is shutting down; retry");

  function validate(request: RunRequest): { account: Account; live: boolean } {
    if (draining) throw shuttingDown();
    const account = gate.account(request.accountId);
    if (!(request.mode in ExecutionMode)) {
      throw new RunRefusal("invalid_request", `mode ${request.mode} is not an execution mode`);
    }
    if (request.idempotencyKey.length > 200) {
      throw new RunRefusal("invalid_request", "idempotency_key is longer than 200 characters");
    }
    const live = request.mode === ExecutionMode.LIVE;
    if (live) gate.permit(account, "live run");
    return { account, live };
  }

  async function replay(runId: string): Promise<AsyncIterable<RebalanceResponse>> {
    const running = [...active.values()].find((a) => a.recorder.header.runId === runId);
    if (running) return running.recorder.follow(true);
    const responses = await store.responses(runId);
    return (async function* () {
      for (const response of responses) yield { ...response, replayed: true };
    })();
  }

  async function start(request: RunRequest): Promise<AsyncIterable<RebalanceResponse>> {
    const { account, live } = validate(request);
    const key = request.idempotencyKey || `generated-${randomUUID()}`;
    const accountId = account.accountId;

    // A repeat of the running run's key follows it instead of being refused as busy.
    const busy = active.get(accountId);
    // A run is followed or named only once it exists: wait for the claim to settle, then decide.
    if (busy && !busy.recorded) {
      await busy.begun;
      return start(request);
    }
    if (busy && busy.recorder.header.idempotencyKey === key) return busy.recorder.follow(true);
    if (busy && !request.waitIfBusy) {
      throw new RunRefusal(
        "busy",
        `account ${accountId} is busy with run ${busy.recorder.header.runId}; retry later or set wait_if_busy`,
      );
    }
    while (active.has(accountId)) await active.get(accountId)!.done;
    if (draining) throw shuttingDown();

    // Claim the account before the first await, so no second run can slip in.
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // Called when the final event is recorded and again when the run's task ends: only once, and
    // never touching a newer run of the account that may have started in between.
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      active.delete(accountId);
      release();
    };
    const header = {
      runId: `run-${randomUUID()}`,
      accountId,
      live,
      idempotencyKey: key,
      trigger: triggerOf(request.trigger),
      createdAt: new Date(),
    };
    const recorder = RunRecorder.accept(store, header, free);
    const beginning = recorder.begin();
    const claim = { recorder, done, recorded: false, begun: beginning.catch(() => undefined) };
    active.set(accountId, claim);

    try {
      const begun = await beginning;
      claim.recorded = begun.created;
      if (!begun.created) {
        free();
        logger.info({ accountId, runId: begun.runId }, "repeated idempotency key: replaying");
        return replay(begun.runId);
      }
    } catch (err) {
      free();
      throw new RunRefusal("store_unavailable", `run store unavailable: ${(err as Error).message}`);
    }

    const { runId } = header;
    const log = logger.child({ runId, accountId, live });
    log.info("run accepted");
    const stream = recorder.follow(false);
    void (async () => {
      try {
        const outcome = await executeRun({
          deps: options.execution,
          account,
          runId,
          startedAt: header.createdAt,
          live,
          record: (event) => recorder.record(event),
        });
        const status = RunStatus[runStatus(outcome)];
        log.info({ status, message: recordMessage(outcome) }, "run finished");
        options.metrics?.runFinished(live ? "live" : "dry_run", status);
      } catch (err) {
        // The run's events could not be recorded (store failure, unencodable event): stop it
        // visibly rather than leave its streams waiting and its record running.
        log.error({ err }, "run could not be recorded");
        await recorder.abort((err as Error).message);
      } finally {
        free();
      }
    })();
    return stream;
  }

  return {
    start,
    async recover() {
      const left = await store.running();
      for (const run of left) {
        const journal = await store.events(run.runId);
        // Every run since journals began has one (begun with its acceptance, in one transaction).
        if (journal.length === 0) {
          logger.warn({ runId: run.runId }, "running run without a journal: left as it is");
          continue;
        }
        await RunRecorder.reopen(store, journal).record({
          kind: "outcome",
          outcome: interruptedOutcome,
        });
        logger.warn({ runId: run.runId, accountId: run.accountId }, "marked interrupted run");
      }
      return left.length;
    },
    async drain(graceMs) {
      draining = true;
      const all = Promise.all([...active.values()].map((a) => a.done)).then(() => true);
      const timeout = new Promise<boolean>((resolve) =>
        setTimeout(resolve, graceMs, false).unref(),
      );
      return Promise.race([all, timeout]);
    },
    running: () => [...active.values()].map((a) => a.recorder.header.runId),
    isBusy: (accountId) => active.has(accountId),
  };
}

/** The plain form of the request's trigger. */
function triggerOf(trigger: Trigger | undefined): RunTrigger {
  return {
    source: trigger ? trigger.source : "unknown",
    eventId: trigger?.eventId ?? "",
    channel: trigger?.channel ?? "",
    caller: trigger?.caller ?? "",
  };
}
