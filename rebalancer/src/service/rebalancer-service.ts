import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Account, AccountsConfig, AccountType } from "@mesh/platform/accounts";
import {
  AccountSchema,
  AccountType as AccountTypeMessage,
  TargetSchema,
  TriggerSchema,
  type RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { AllocationError } from "../allocations/allocation-error.js";
import type { AllocationProvider } from "../allocations/allocation-provider.js";
import type { Broker, BrokerOrder } from "../broker/broker.js";
import { BrokerError } from "../broker/broker-error.js";
import { orderMessage, positionMessages } from "../execution/broker-messages.js";
import { isTerminal, OrderTracker } from "../execution/order-tracker.js";
import { applyReplacements, PlanError } from "../planning/index.js";
import type { RunCoordinator } from "../runs/run-coordinator.js";
import type { RunStore } from "../runs/run-store.js";
import { listRuns } from "./list-runs.js";
import { runCounts } from "./run-counts.js";
import { sameRequestOrRefuse } from "./same-request-or-refuse.js";
import { callerSubject } from "../server/caller-identity.js";

/** What the service implementation is built from. */
export interface RebalancerServiceDeps {
  accounts: AccountsConfig;
  tradingMode: AccountType;
  broker: Broker;
  allocations: AllocationProvider;
  store: RunStore;
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
  const byId = new Map(deps.accounts.accounts.map((a) => [a.accountId, a]));
  const { broker, store, coordinator } = deps;

  function account(accountId: string): Account {
    if (!accountId) throw new ConnectError("account_id is required", Code.InvalidArgument);
    const found = byId.get(accountId);
    if (!found) throw new ConnectError(`account ${accountId} is not configured`, Code.NotFound);
    return found;
  }

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
            eligible: a.enabled && a.type === deps.tradingMode,
          }),
        ),
      };
    },

    async getPositions(request) {
      const { accountId } = account(request.accountId);
      const [holdings, values] = await brokerCall(() =>
        Promise.all([broker.holdings(accountId), broker.accountValues(accountId)]),
      );
      const quotes = await brokerCall(() => broker.quotes(holdings.map((h) => h.symbol)));
      return {
        accountId,
        netLiquidation: values.netLiquidation,
        asOf: timestampFromDate(values.asOf),
        positions: positionMessages(
          holdings,
          new Map([...quotes].map(([symbol, quote]) => [symbol, quote.price])),
          values.netLiquidation,
        ),
      };
    },

    async getAccountValue(request) {
      const { accountId } = account(request.accountId);
      const values = await brokerCall(() => broker.accountValues(accountId));
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
      const target = account(request.accountId);
      try {
        const allocations = await deps.allocations.targets(target);
        const targets = applyReplacements(allocations.targets, target.replacements);
        return {
          accountId: target.accountId,
          strategy: allocations.strategy,
          targets: targets.map((t) => create(TargetSchema, t)),
          cashReservePercent: target.settings.cashReservePercent,
          asOf: allocations.asOf,
        };
      } catch (err) {
        if (err instanceof AllocationError) {
          const code = err.code === "unavailable" ? Code.Unavailable : Code.FailedPrecondition;
          throw new ConnectError(err.message, code);
        }
        if (err instanceof PlanError) throw new ConnectError(err.message, Code.FailedPrecondition);
        throw err;
      }
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
      const events = await coordinator.start({
        accountId: request.accountId,
        mode: request.mode,
        idempotencyKey: request.idempotencyKey,
        trigger,
        waitIfBusy: request.waitIfBusy,
      });
      yield* sameRequestOrRefuse(request, events, (runId) => store.get(runId));
    },

    async getRun(request) {
      if (!request.runId) throw new ConnectError("run_id is required", Code.InvalidArgument);
      const run = await store.get(request.runId);
      if (!run) throw new ConnectError(`run ${request.runId} not found`, Code.NotFound);
      run.counts = runCounts(run);
      return { run };
    },

    async listRuns(request) {
      const { accountId } = account(request.accountId);
      return listRuns(store, accountId, request);
    },

    async listOpenOrders(request) {
      const { accountId } = account(request.accountId);
      const orders = await brokerCall(() => broker.openOrders(accountId));
      return { orders: orders.map(orderMessage) };
    },

    async cancelOpenOrders(request) {
      const target = account(request.accountId);
      if (target.type !== deps.tradingMode) {
        throw new ConnectError(
          `cancel refused: account ${target.accountId} is ${target.type} but TRADING_MODE is ${deps.tradingMode}`,
          Code.PermissionDenied,
        );
      }
      if (coordinator.isBusy(target.accountId)) {
        throw new ConnectError(
          `account ${target.accountId} has a run in progress; cancel after it ends`,
          Code.Aborted,
        );
      }
      const open = await brokerCall(() => broker.openOrders(target.accountId));
      const outcome = await cancelAll(broker, open, deps.cancelTimeoutMs ?? 30_000);
      return {
        cancelled: outcome.cancelled.map(orderMessage),
        remaining: outcome.remaining.map(orderMessage),
      };
    },
  };
}

/** Cancels orders and waits until the broker reports each of them done. */
async function cancelAll(broker: Broker, open: BrokerOrder[], timeoutMs: number) {
  const ids = new Set(open.map((o) => o.orderId));
  const tracker = new OrderTracker(broker, (order) => ids.has(order.orderId));
  try {
    open.forEach((o) => tracker.placed(o));
    await Promise.all(open.map((o) => brokerCall(() => broker.cancelOrder(o.orderId))));
    const { orders } = await tracker.settle([...ids], timeoutMs);
    return {
      cancelled: orders.filter((o) => o.status === "cancelled"),
      remaining: orders.filter((o) => !isTerminal(o)),
    };
  } finally {
    tracker.close();
  }
}

/** Broker errors become RPC errors a caller can act on. */
async function brokerCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof BrokerError)) throw err;
    const code =
      err.code === "unavailable"
        ? Code.Unavailable
        : err.code === "unknown_account"
          ? Code.NotFound
          : Code.FailedPrecondition;
    throw new ConnectError(`broker: ${err.message}`, code);
  }
}
