import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Account, AccountType } from "@mesh/platform/accounts";
import type { Logger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  FailureReason,
  RebalanceResponseSchema,
  RunAcceptedSchema,
  RunFailedSchema,
  RunSchema,
  RunStatus,
  TriggerSchema,
  type RebalanceResponse,
  type Trigger,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { executeRun } from "../execution/execute-run.js";
import type { ExecutionDeps } from "../execution/execution-deps.js";
import type { RunMetrics } from "../run-metrics.js";
import { RunFeed } from "./run-feed.js";
import type { RunStore } from "./run-store.js";

/** What a caller asks for; mirrors RebalanceRequest without the transport. */
export interface RunRequest {
  accountId: string;
  mode: ExecutionMode;
  idempotencyKey: string;
  trigger?: Trigger;
  waitIfBusy: boolean;
}

/** Options of createRunCoordinator. */
export interface RunCoordinatorOptions {
  store: RunStore;
  /** Configured accounts by id. */
  accounts: ReadonlyMap<string, Account>;
  /** The service's TRADING_MODE: live execution needs an account of this type. */
  tradingMode: AccountType;
  execution: ExecutionDeps;
  logger: Logger;
  /** Counts runs by mode and outcome; default counts nothing. */
  metrics?: RunMetrics;
}

/** Starts runs: one per account at a time, one per idempotency key ever, behind the live guard. */
export interface RunCoordinator {
  /** Starts (or, for a known idempotency key, replays) a run and returns its event stream. */
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
  const { store, accounts, tradingMode, logger } = options;
  // By account id. `recorded` turns true once the store has the run: until then the claim may
  // turn out to be a repeat of a finished run, whose feed never gets an event.
  const active = new Map<
    string,
    { feed: RunFeed; done: Promise<void>; recorded: boolean; begun: Promise<unknown> }
  >();
  let draining = false;

  function validate(request: RunRequest): { account: Account; live: boolean } {
    if (draining)
      throw new ConnectError("the rebalancer is shutting down; retry", Code.Unavailable);
    if (!request.accountId) throw new ConnectError("account_id is required", Code.InvalidArgument);
    const account = accounts.get(request.accountId);
    if (!account) {
      throw new ConnectError(`account ${request.accountId} is not configured`, Code.NotFound);
    }
    if (!(request.mode in ExecutionMode)) {
      throw new ConnectError(`mode ${request.mode} is not an execution mode`, Code.InvalidArgument);
    }
    if (request.idempotencyKey.length > 200) {
      throw new ConnectError("idempotency_key is longer than 200 characters", Code.InvalidArgument);
    }
    const live = request.mode === ExecutionMode.LIVE;
    if (live && account.type !== tradingMode) {
      throw new ConnectError(
        `live run refused: account ${account.accountId} is ${account.type} but TRADING_MODE is ${tradingMode}`,
        Code.PermissionDenied,
      );
    }
    if (live && !account.enabled) {
      throw new ConnectError(
        `live run refused: account ${account.accountId} is disabled in accounts.yaml`,
        Code.FailedPrecondition,
      );
    }
    return { account, live };
  }

  async function replay(runId: string): Promise<AsyncIterable<RebalanceResponse>> {
    const running = [...active.values()].find((a) => a.feed.run.runId === runId);
    if (running) return running.feed.follow(true);
    const events = await store.events(runId);
    return (async function* () {
      for (const event of events) yield { ...event, replayed: true };
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
    if (busy && busy.feed.run.idempotencyKey === key) return busy.feed.follow(true);
    if (busy && !request.waitIfBusy) {
      throw new ConnectError(
        `account ${accountId} is busy with run ${busy.feed.run.runId}; retry later or set wait_if_busy`,
        Code.Aborted,
      );
    }
    while (active.has(accountId)) await active.get(accountId)!.done;
    if (draining)
      throw new ConnectError("the rebalancer is shutting down; retry", Code.Unavailable);

    // Claim the account before the first await, so no second run can slip in.
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const run = create(RunSchema, {
      runId: `run-${randomUUID()}`,
      accountId,
      mode: live ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN,
      trigger: request.trigger ?? create(TriggerSchema, { source: "unknown" }),
      idempotencyKey: key,
      status: RunStatus.RUNNING,
      createdAt: timestampNow(),
    });
    // Called when the final event is recorded and again when the run's task ends: only once, and
    // never touching a newer run of the account that may have started in between.
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      active.delete(accountId);
      release();
    };
    const feed = new RunFeed(run, store, free);
    const beginning = store.begin(run);
    const claim = { feed, done, recorded: false, begun: beginning.catch(() => undefined) };
    active.set(accountId, claim);

    try {
      const begun = await beginning;
      claim.recorded = begun.created;
      if (!begun.created) {
        free();
        logger.info({ accountId, runId: begun.run.runId }, "repeated idempotency key: replaying");
        return replay(begun.run.runId);
      }
    } catch (err) {
      free();
      throw new ConnectError(`run store unavailable: ${(err as Error).message}`, Code.Unavailable);
    }

    const log = logger.child({ runId: run.runId, accountId, live });
    log.info("run accepted");
    const stream = feed.follow(false);
    void (async () => {
      try {
        await feed.append({
          case: "accepted",
          value: create(RunAcceptedSchema, { accountId, mode: run.mode, idempotencyKey: key }),
        });
        await executeRun(options.execution, account, run, live, (event) => feed.append(event));
        log.info({ status: RunStatus[run.status], message: run.message }, "run finished");
        options.metrics?.runFinished(live ? "live" : "dry_run", RunStatus[run.status]);
      } catch (err) {
        // The run's events could not be recorded (store failure, unencodable event): stop it
        // visibly rather than leave its streams waiting and its record running.
        const reason = (err as Error).message;
        log.error({ err }, "run could not be recorded");
        feed.abort(reason);
        run.status = RunStatus.FAILED;
        run.failureReason = FailureReason.INTERNAL;
        run.message = `internal error: the run could not be recorded: ${reason}`;
        run.finishedAt = timestampNow();
        await store.save(run).catch(() => undefined);
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
        run.status = RunStatus.FAILED;
        run.failureReason = FailureReason.INTERRUPTED;
        run.message =
          "interrupted: the rebalancer stopped during this run; its orders carry the run id " +
          "as order reference, check ListOpenOrders before running again";
        run.finishedAt = timestampNow();
        const sequence = (await store.events(run.runId)).length + 1;
        await store.appendEvent(
          create(RebalanceResponseSchema, {
            runId: run.runId,
            sequence,
            time: timestampNow(),
            event: {
              case: "failed",
              value: create(RunFailedSchema, {
                reason: run.failureReason,
                message: run.message,
                orders: run.orders,
              }),
            },
          }),
        );
        await store.save(run);
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
    running: () => [...active.values()].map((a) => a.feed.run.runId),
    isBusy: (accountId) => active.has(accountId),
  };
}
