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
import { AccountRefusal } from "../accounts/account-refusal.js";
import { continueRun, executeRun } from "../execution/execute-run.js";
import type { ExecutionDeps } from "../execution/execution-deps.js";
import { isTerminal } from "../execution/order-tracker.js";
import type { RunContext } from "../execution/run-context.js";
import type { RunOutcome } from "../execution/run-outcome.js";
import type { RunMetrics } from "../run-metrics.js";
import type { AccountLeases } from "./account-leases.js";
import { followStoredRun } from "./follow-stored-run.js";
import { foldRun } from "./fold-run.js";
import type { RecordedEvent } from "./recorded-event.js";
import type { RunTrigger } from "./run-header.js";
import { recordMessage, runMessage } from "./run-message.js";
import { runProgressOf } from "./run-progress-of.js";
import { RunRecorder } from "./run-recorder.js";
import { RunRefusal } from "./run-refusal.js";
import type { RunState } from "./run-state.js";
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
  /**
   * With replicas on one shared store: the cross-replica account leases. A run starts or resumes
   * only under its account's lease, and a request for an account another replica runs follows
   * that run (same idempotency key) or is refused as busy. Default none: this process alone.
   */
  leases?: AccountLeases;
  /**
   * For a run taken over from a replica with another broker client: the execution on a broker
   * connected as that client (it alone sees and controls the run's orders), closed when the run
   * ends. Rejects when that client cannot be connected (e.g. the old replica still holds it):
   * the run is then left to a later scan. Default: this replica's own execution.
   */
  takeoverExecution?: (
    brokerClient: number,
  ) => Promise<{ execution: ExecutionDeps; close(): Promise<void> }>;
  /** How often a run followed on another replica is read again, ms; default 200. */
  followPollMs?: number;
}

/**
 * Starts runs: one per account at a time, one per idempotency key ever, behind the live guard;
 * and resumes runs that stopped before they finished.
 */
export interface RunCoordinator {
  /**
   * Starts (or, for a known idempotency key, replays) a run and returns its event stream. Throws
   * an AccountRefusal or RunRefusal when the run cannot start; the stream throws a RunRefusal if
   * the run had to stop unrecorded. A key of a run being resumed here follows it live.
   */
  start(request: RunRequest): Promise<AsyncIterable<RebalanceResponse>>;
  /**
   * Resumes a run its store holds as running but no process here runs: left by a process that
   * stopped (this one's previous start, or another replica taking over). Claims its account
   * (after the account's run in progress, if any), then goes on in the background under the same
   * run id: reconciled with the broker by order reference, continued from where it stood, or
   * ended with an accurate record when going on is unsafe (see continueRun). Resolves true once
   * the run is claimed; false when there is nothing to resume (unknown, finished, already
   * running here, or this coordinator is draining).
   */
  resumeRun(runId: string): Promise<boolean>;
  /** On start: resumes every run the store holds as running (resumeRun); resolves with how many. */
  recover(): Promise<number>;
  /**
   * Stops accepting runs and waits up to `graceMs` for running ones to finish. Those still going
   * then are handed over: each stops where it stands (placing nothing more) and is recorded as
   * suspended, to be resumed by the next start or another replica. Resolves with their run ids
   * ([] when every run finished).
   */
  drain(graceMs: number): Promise<string[]>;
  /**
   * With leases: resumes runs whose replica's lease expired (the takeover scan; call it every few
   * seconds). Resolves with how many were taken over.
   */
  takeOver(): Promise<number>;
  /** Ids of the runs in progress. */
  running(): string[];
  /** True while a run of the account is in progress. */
  isBusy(accountId: string): boolean;
}

/** A run in progress in this process, holding its account. */
interface ActiveRun {
  recorder: RunRecorder;
  /** Resolves once the account is free again. */
  done: Promise<void>;
  /** True once the store has the run (until then the claim may be a repeat of a finished run). */
  recorded: boolean;
  begun: Promise<unknown>;
  /** Aborted to hand the run over at a shutdown. */
  handover: AbortController;
  /** The run's execution, once started. */
  task?: Promise<void>;
}

/** How long a run being handed over may take to stop where it stands (a placement in flight). */
const handoverStopMs = 5_000;

export function createRunCoordinator(options: RunCoordinatorOptions): RunCoordinator {
  const { store, gate, logger, leases } = options;
  // By account id.
  const active = new Map<string, ActiveRun>();
  let draining = false;
  let scanning = false;
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

  const activeRun = (runId: string) =>
    [...active.values()].find((a) => a.recorder.header.runId === runId);

  async function replay(runId: string): Promise<AsyncIterable<RebalanceResponse>> {
    const running = activeRun(runId);
    if (running) return running.recorder.follow(true);
    const responses = await store.responses(runId);
    return (async function* () {
      for (const response of responses) yield { ...response, replayed: true };
    })();
  }

  /**
   * Claims the account for a run, synchronously (no second run can slip in). The returned
   * `free` is called when the final event is recorded and again when the run's task ends: only
   * once, and never touching a newer run of the account that may have started in between.
   */
  function claim(
    accountId: string,
    recorder: (free: () => void) => RunRecorder,
    recorded: boolean,
  ) {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      active.delete(accountId);
      // The lease goes once the run's final record is stored (or the run was never begun); a
      // run handed over keeps it until its `suspended` is recorded (drain releases it).
      if (leases && !run.handover.signal.aborted) void leases.release(accountId);
      release();
    };
    const run: ActiveRun = {
      recorder: recorder(free),
      done,
      recorded,
      begun: Promise.resolve(),
      handover: new AbortController(),
    };
    active.set(accountId, run);
    return { run, free };
  }

  /** Runs `work` (a fresh or a resumed run) in the background, then frees the account. */
  function launch(
    run: ActiveRun,
    free: () => void,
    account: Account,
    work: (ctx: RunContext) => Promise<RunOutcome | undefined>,
    execution: ExecutionDeps = options.execution,
    ended: () => Promise<void> = async () => undefined,
  ): void {
    const { recorder } = run;
    const { runId, live, createdAt } = recorder.header;
    const log = logger.child({ runId, accountId: account.accountId, live });
    run.task = (async () => {
      try {
        const outcome = await work({
          deps: execution,
          account,
          runId,
          startedAt: createdAt,
          live,
          record: (event) => recorder.record(event),
          progress: () => runProgressOf(recorder.state),
          handover: run.handover.signal,
        });
        if (!outcome) return; // handed over: drain records it
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
        await ended().catch((err: unknown) => log.warn({ err }, "takeover broker not closed"));
      }
    })();
  }

  /**
   * With leases, under the claim of `run`: takes the account's lease, unless another replica has
   * the account or a run of it another replica left running is to be resumed first (then that
   * resume is started). True when the lease is this replica's.
   */
  async function leaseForRun(accountId: string): Promise<boolean> {
    if (!leases) return true;
    if (!(await leases.acquire(accountId, "run"))) return false;
    const [newest] = await store.list(accountId, 1);
    if (newest?.status === RunStatus.RUNNING) {
      // Left by a replica that died: it goes on first (the lease is handed to its resume).
      await leases.release(accountId);
      void (async () => {
        while (active.has(accountId)) await active.get(accountId)!.done;
        await resumeRun(newest.runId);
      })().catch((err: unknown) => logger.error({ err, accountId }, "resume failed"));
      return false;
    }
    return true;
  }

  /**
   * A request for an account another replica runs: the run of its key if there is one (followed
   * through the store), else the busy refusal, or (wait_if_busy, or no run to name yet) a retry.
   */
  async function startElsewhere(
    request: RunRequest,
    key: string,
  ): Promise<AsyncIterable<RebalanceResponse>> {
    const { accountId } = request;
    const same = await store.find(accountId, key);
    if (same) {
      logger.info({ accountId, runId: same.runId }, "repeated idempotency key: following");
      return followStoredRun(store, same.runId, options.followPollMs);
    }
    const [newest] = await store.list(accountId, 1);
    if (newest?.status === RunStatus.RUNNING && !request.waitIfBusy) {
      throw new RunRefusal(
        "busy",
        `account ${accountId} is busy with run ${newest.runId} on another replica; retry later or set wait_if_busy`,
      );
    }
    // Its holder is between taking the account and recording the run, or ending it.
    await new Promise((resolve) => setTimeout(resolve, options.followPollMs ?? 200));
    return start({ ...request, idempotencyKey: key });
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

    const header = {
      runId: `run-${randomUUID()}`,
      accountId,
      live,
      idempotencyKey: key,
      trigger: triggerOf(request.trigger),
      createdAt: new Date(),
    };
    const { run, free } = claim(accountId, (f) => RunRecorder.accept(store, header, f), false);
    const beginning = (async () =>
      (await leaseForRun(accountId)) ? run.recorder.begin() : ("elsewhere" as const))();
    run.begun = beginning.catch(() => undefined);

    try {
      const begun = await beginning;
      if (begun === "elsewhere") {
        free();
        return startElsewhere(request, key);
      }
      run.recorded = begun.created;
      if (!begun.created) {
        free();
        logger.info({ accountId, runId: begun.runId }, "repeated idempotency key: replaying");
        return replay(begun.runId);
      }
    } catch (err) {
      free();
      throw new RunRefusal("store_unavailable", `run store unavailable: ${(err as Error).message}`);
    }

    logger.info({ runId: header.runId, accountId, live }, "run accepted");
    const stream = run.recorder.follow(false);
    launch(run, free, account, executeRun);
    return stream;
  }

  async function resumeRun(runId: string): Promise<boolean> {
    if (draining || activeRun(runId)) return false;
    let journal = await store.events(runId);
    if (journal.length === 0) {
      logger.warn({ runId }, "run to resume has no journal: left as it is");
      return false;
    }
    let state = foldRun(journal);
    const { accountId } = state.header;
    if (leases) return resumeLeased(runId, accountId, journal);
    // One run per account: the one in progress here finishes first.
    if (active.has(accountId)) {
      while (active.has(accountId)) {
        if (activeRun(runId)) return false;
        await active.get(accountId)!.done;
      }
      journal = await store.events(runId);
      state = foldRun(journal);
    }
    if (draining || activeRun(runId)) return false;
    if (state.outcome) {
      // It ended, but its process stopped before the final record was stored: store it now.
      await store.finish(runMessage(state));
      return false;
    }
    const { run, free } = claim(accountId, (f) => RunRecorder.reopen(store, journal, f), true);
    return goOn(run, free, state);
  }

  /**
   * resumeRun with leases: a run left running whose account's lease is free or expired is taken
   * over under a new lease; one whose replica still holds the account is left to it.
   */
  async function resumeLeased(
    runId: string,
    accountId: string,
    seen: RecordedEvent[],
  ): Promise<boolean> {
    if (active.has(accountId)) return false; // a later scan comes back to it
    // Claimed with the journal as read so far; its recorder is made again under the lease.
    const { run, free } = claim(accountId, (f) => RunRecorder.reopen(store, seen, f), false);
    let ended = async () => undefined as void;
    const taking = (async () => {
      const lease = await leases!.acquire(accountId, "resume");
      if (!lease) return undefined;
      // Read under the lease: the last holder wrote nothing since it lost the account.
      const journal = await store.events(runId);
      const state = foldRun(journal);
      if (state.outcome) {
        // It ended, but its replica stopped before the final record was stored: store it now.
        await store.finish(runMessage(state));
        return undefined;
      }
      let execution = options.execution;
      if (lease.brokerClient !== leases!.brokerClient && options.takeoverExecution) {
        const takeover = await options.takeoverExecution(lease.brokerClient);
        execution = takeover.execution;
        ended = () => takeover.close();
      }
      run.recorder = RunRecorder.reopen(store, journal, free);
      return { state, execution, brokerClient: lease.brokerClient };
    })();
    run.begun = taking.catch(() => undefined);
    let taken: Awaited<typeof taking>;
    try {
      taken = await taking;
    } catch (err) {
      logger.warn({ err, runId, accountId }, "could not take over a run left running");
      taken = undefined;
    }
    if (!taken || draining) {
      free();
      await ended();
      return false;
    }
    run.recorded = true;
    logger.warn(
      { runId, accountId, brokerClient: taken.brokerClient, replica: leases!.replica },
      "taking over a run left by a replica that stopped or died (its lease free or expired)",
    );
    return goOn(run, free, taken.state, taken.execution, ended);
  }

  /** Resumes a claimed run from where its journal stands (continueRun), in the background. */
  function goOn(
    run: ActiveRun,
    free: () => void,
    state: RunState,
    execution?: ExecutionDeps,
    ended?: () => Promise<void>,
  ): boolean {
    const { accountId, runId } = state.header;
    const cause = state.suspended ? "handed_over" : "process_stopped";
    const log = logger.child({ runId, accountId, live: state.header.live });
    log.warn({ cause, phase: state.stoodIn ?? "none" }, "resuming a run left running");

    let account: Account;
    try {
      account = gate.account(accountId);
    } catch (err) {
      // No account to read or trade any more: the record says so, nothing is touched.
      void endUnresumable(run, free, cause, (err as Error).message);
      return true;
    }
    let refusal: string | undefined;
    try {
      if (state.header.live) gate.permit(account, "live run");
    } catch (err) {
      if (!(err instanceof AccountRefusal)) throw err;
      refusal = err.message;
    }
    launch(run, free, account, (ctx) => continueRun(ctx, { cause, refusal }), execution, ended);
    return true;
  }

  /** Ends a run whose account is no longer configured, without touching the broker. */
  async function endUnresumable(
    run: ActiveRun,
    free: () => void,
    cause: "handed_over" | "process_stopped",
    refusal: string,
  ): Promise<void> {
    const { recorder } = run;
    const state = recorder.state;
    const orders = [...state.orders.values()];
    const message =
      `not resumed after it stopped: ${refusal}; nothing was placed or cancelled, and its orders at ` +
      "the broker were not looked at: check ListOpenOrders";
    try {
      await recorder.record({
        kind: "resumed",
        resumption: {
          cause,
          ...(state.stoodIn ? { phase: state.stoodIn } : {}),
          orders,
          adoptedOrderIds: [],
          fillsRecovered: 0,
          message,
        },
      });
      await recorder.record({
        kind: "outcome",
        outcome: { status: "failed", reason: "live_guard", message, recordNote: "" },
      });
    } catch (err) {
      await recorder.abort((err as Error).message);
    } finally {
      free();
    }
  }

  /** What a run handed over leaves, for its `suspended` event. */
  function handoverMessage(state: RunState): string {
    const working = [...state.orders.values()].filter((o) => !isTerminal(o)).length;
    const phase = state.phase ? ` in phase ${state.phase}` : "";
    const orders = working > 0 ? `, ${working} order${working === 1 ? "" : "s"} still working` : "";
    return (
      `handed over at shutdown${phase}${orders}: the rebalancer stopped before the run could ` +
      "finish; the next start (or another replica) resumes it"
    );
  }

  return {
    start,
    resumeRun,
    async recover() {
      const left = await store.running();
      const resumed = await Promise.all(left.map((run) => resumeRun(run.runId)));
      return resumed.filter(Boolean).length;
    },
    async takeOver() {
      if (!leases || draining || scanning) return 0;
      scanning = true;
      try {
        // Only runs whose account no replica holds: a scan reads no journal of a live run.
        const left = await leases.orphans();
        const resumed = await Promise.all(left.map((runId) => resumeRun(runId)));
        return resumed.filter(Boolean).length;
      } finally {
        scanning = false;
      }
    },
    async drain(graceMs) {
      draining = true;
      const all = Promise.all([...active.values()].map((a) => a.done)).then(() => true);
      const timeout = new Promise<boolean>((resolve) =>
        setTimeout(resolve, graceMs, false).unref(),
      );
      if (await Promise.race([all, timeout])) return [];
      const left = [...active.values()];
      await Promise.all(left.map((a) => a.begun));
      // Each run stops where it stands: nothing more is placed once its handover is signalled.
      for (const run of left) run.handover.abort();
      await Promise.race([
        Promise.all(left.map((a) => a.task)),
        new Promise((resolve) => setTimeout(resolve, handoverStopMs).unref()),
      ]);
      const handedOver: string[] = [];
      for (const run of left) {
        const { recorder } = run;
        if (!run.recorded || recorder.state.outcome) continue;
        try {
          await recorder.suspend(handoverMessage(recorder.state));
          handedOver.push(recorder.header.runId);
        } catch (err) {
          logger.error({ err, runId: recorder.header.runId }, "could not record a handover");
          handedOver.push(recorder.header.runId);
        }
        // Replicas: another takes the run over at its next scan, not after the lease expires.
        if (leases) await leases.release(recorder.header.accountId);
      }
      return handedOver;
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
