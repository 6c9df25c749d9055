import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AccountsConfig, AccountType } from "@mesh/platform/accounts";
import {
  AccountSchema,
  AccountType as AccountTypeMessage,
  TargetSchema,
  TriggerSchema,
  type RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { AccountGate } from "../accounts/account-gate.js";
import type { AllocationProvider } from "../allocations/allocation-provider.js";
import type { Broker } from "../broker/broker.js";
import { cancelAndWait } from "../execution/cancel-and-wait.js";
import { readPositions } from "../execution/read-positions.js";
import { applyReplacements } from "../planning/index.js";
import { orderMessage, positionMessage } from "../runs/broker-messages.js";
import type { JournalFeed } from "../runs/journal-feed.js";
import type { RunCoordinator } from "../runs/run-coordinator.js";
import type { RunStore } from "../runs/run-store.js";
import { callerSubject } from "./caller-subject.js";
import { asRpc, connectErrorOf } from "./connect-error-of.js";
import { listRuns } from "./list-runs.js";
import { runCounts } from "./run-counts.js";
import { sameRequestOrRefuse } from "./same-request-or-refuse.js";
import { watchRuns } from "./watch-runs.js";

/** What the service implementation is built from. */
export interface RebalancerServiceDeps {
  /** The configured accounts, listed by ListAccounts; no default. */
  accounts: AccountsConfig;
  /** The service's TRADING_MODE, reported by ListAccounts; no default. */
  tradingMode: AccountType;
  /** Which accounts exist and may trade or cancel (the coordinator's own); no default. */
  gate: AccountGate;
  /** Where reads and cancels go; no default. */
  broker: Broker;
  /** Where GetTargets reads an account's targets; no default. */
  allocations: AllocationProvider;
  /** Where GetRun, ListRuns and WatchRuns read runs; no default. */
  store: RunStore;
  /** Wakes WatchRuns when the store's journal grows; no default. */
  feed: JournalFeed;
  /**
   * Ends every WatchRuns stream with its reason when aborted (the service is stopping), so that
   * watchers resume elsewhere instead of holding the shutdown; default never.
   */
  stopWatches?: AbortSignal;
  /** How long a WatchRuns stream stays quiet before it tells where it stands; default 30 s. */
  watchHeartbeatMs?: number;
  /** Starts and follows rebalances; no default. */
  coordinator: RunCoordinator;
  /** How long CancelOpenOrders waits for the broker to confirm; default 30 s. */
  cancelTimeoutMs?: number;
}

/**
 * RebalancerService: reads go to the broker and the run store, rebalances to the coordinator.
 * GetHealth is answered by the API server from the same probes as grpc.health.v1.
 */
export function createRebalancerService(
  deps: RebalancerServiceDeps,
): Omit<ServiceImpl<typeof RebalancerService>, "getHealth"> {
  const { broker, store, coordinator, gate } = deps;
  const account = (accountId: string) => asRpc(() => gate.account(accountId));

  return {
    listAccounts() {
      return {
        tradingMode: deps.tradingMode,
        accounts: deps.accounts.accounts.map((a) =>
          create(AccountSchema, {
            accountId: a.accountId,
            type: a.type === "live" ? AccountTypeMessage.LIVE : AccountTypeMessage.PAPER,
            enabled: a.enabled,
            strategy: a.strategy,
            cashReservePercent: a.settings.cashReservePercent,
            replacementSet: a.replacementSet,
            eligible: gate.eligible(a),
          }),
        ),
      };
    },

    async getPositions(request) {
      const { accountId } = await account(request.accountId);
      const { valued, values } = await asRpc(() => readPositions(broker, accountId));
      return {
        accountId,
        netLiquidation: values.netLiquidation,
        asOf: timestampFromDate(values.asOf),
        positions: valued.map(positionMessage),
      };
    },

    async getAccountValue(request) {
      const { accountId } = await account(request.accountId);
      const values = await asRpc(() => broker.accountValues(accountId));
      return {
        accountId,
        netLiquidation: values.netLiquidation,
        cash: values.cash,
        availableFunds: values.availableFunds,
        currency: values.currency,
        asOf: timestampFromDate(values.asOf),
      };
    },

    async getTargets(request) {
      const target = await account(request.accountId);
      const allocations = await asRpc(() => deps.allocations.targets(target));
      const targets = await asRpc(() =>
        applyReplacements(allocations.targets, target.replacements),
      );
      return {
        accountId: target.accountId,
        strategy: allocations.strategy,
        targets: targets.map((t) => create(TargetSchema, t)),
        cashReservePercent: target.settings.cashReservePercent,
        asOf: allocations.asOf,
      };
    },

    async *rebalance(request, context) {
      // The caller is what the TLS handshake verified, never what the request claims.
      const caller = callerSubject(context);
      // A tool that names no source (buf curl, grpcurl) is known by its protocol: grpc, connect...
      const trigger = {
        ...(request.trigger ?? create(TriggerSchema)),
        source: request.trigger?.source || context.protocolName,
        caller,
      };
      try {
        const events = await coordinator.start({
          accountId: request.accountId,
          mode: request.mode,
          idempotencyKey: request.idempotencyKey,
          trigger,
          waitIfBusy: request.waitIfBusy,
        });
        yield* sameRequestOrRefuse(request, events, (runId) => store.get(runId));
      } catch (err) {
        throw connectErrorOf(err);
      }
    },

    async getRun(request) {
      if (!request.runId) throw new ConnectError("run_id is required", Code.InvalidArgument);
      const run = await store.get(request.runId);
      if (!run) throw new ConnectError(`run ${request.runId} not found`, Code.NotFound);
      run.counts = runCounts(run);
      return { run };
    },

    async listRuns(request) {
      const { accountId } = await account(request.accountId);
      return listRuns(store, accountId, request);
    },

    async *watchRuns(request, context) {
      // Filtered accounts are named as ListRuns names them: unknown ones are refused.
      const accountIds = await Promise.all(
        request.accountIds.map(async (id) => (await account(id)).accountId),
      );
      const signal = deps.stopWatches
        ? AbortSignal.any([context.signal, deps.stopWatches])
        : context.signal;
      yield* watchRuns(
        { store, feed: deps.feed, heartbeatMs: deps.watchHeartbeatMs ?? 30_000 },
        { accountIds, statuses: request.statuses, resumeToken: request.resumeToken },
        signal,
      );
    },

    async listOpenOrders(request) {
      const { accountId } = await account(request.accountId);
      const orders = await asRpc(() => broker.openOrders(accountId));
      return { orders: orders.map(orderMessage) };
    },

    async cancelOpenOrders(request) {
      const target = await account(request.accountId);
      await asRpc(() => gate.permit(target, "cancel"));
      if (coordinator.isBusy(target.accountId)) {
        throw new ConnectError(
          `account ${target.accountId} has a run in progress; cancel after it ends`,
          Code.Aborted,
        );
      }
      const outcome = await asRpc(() =>
        cancelAndWait(
          broker,
          () => broker.openOrders(target.accountId),
          deps.cancelTimeoutMs ?? 30_000,
        ),
      );
      return {
        cancelled: outcome.cancelled.map(orderMessage),
        remaining: outcome.remaining.map(orderMessage),
      };
    },
  };
}
