// A RebalancerService answering fixed data, to test the API surface without a broker. The real
// implementation lives in ../../service; this one only has to behave like it at the boundary.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AccountType,
  ExecutionMode,
  FailureReason,
  OrderSide,
  OrderStatus,
  OrderType,
  Phase,
  RebalanceResponseSchema,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type {
  Account,
  AccountSchema,
  RebalanceRequest,
  RebalanceResponse,
  RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { MessageInitShape } from "@bufbuild/protobuf";

/** The fixed service and what it saw. */
export interface FixedRebalancerService {
  service: ServiceImpl<typeof RebalancerService>;
  /** Every Rebalance request received, in order. */
  readonly rebalanceRequests: RebalanceRequest[];
  /** While set, Rebalance streams wait for it before their final event. */
  hold: Promise<void> | undefined;
}

/** A paper account. */
export const paperAccount = "DU111";
/** A live account. */
export const liveAccount = "DU222";
/** An account busy with another run: Rebalance answers ABORTED. */
export const busyAccount = "DU333";
/** An account whose rebalance fails (order rejected). */
export const failingAccount = "DU444";

const asOf = new Date("2025-06-24T14:30:00Z");

const accounts: MessageInitShape<typeof AccountSchema>[] = [
  {
    accountId: paperAccount,
    type: AccountType.PAPER,
    enabled: true,
    strategy: "etf-blend-200-35",
    eligible: true,
  },
  {
    accountId: liveAccount,
    type: AccountType.LIVE,
    enabled: true,
    strategy: "etf-blend-301-20",
    cashReservePercent: 2.5,
    eligible: false,
  },
  { accountId: busyAccount, type: AccountType.PAPER, enabled: true, strategy: "etf-blend-200-35" },
  { accountId: failingAccount, type: AccountType.PAPER, enabled: true, strategy: "x" },
];
const known = new Set(accounts.map((a) => a.accountId));

/** Builds the fixed service. */
export function createFixedRebalancerService(): FixedRebalancerService {
  const fixed: FixedRebalancerService = {
    rebalanceRequests: [],
    hold: undefined,
    service: {
      listAccounts() {
        return { accounts: accounts as Account[], tradingMode: "paper" };
      },

      getPositions(request) {
        requireAccount(request.accountId);
        return {
          accountId: request.accountId,
          netLiquidation: 100_000,
          asOf: timestampFromDate(asOf),
          positions: [
            {
              symbol: "QQQ",
              quantity: 50,
              price: 400.5,
              marketValue: 20_025,
              weight: 0.20025,
              averageCost: 350,
              currency: "USD",
            },
          ],
        };
      },

      getAccountValue(request) {
        requireAccount(request.accountId);
        return {
          accountId: request.accountId,
          netLiquidation: 100_000,
          cash: 5_000,
          availableFunds: 5_000,
          currency: "USD",
          asOf: timestampFromDate(asOf),
        };
      },

      getTargets(request) {
        requireAccount(request.accountId);
        return {
          accountId: request.accountId,
          strategy: "etf-blend-301-20",
          targets: [{ symbol: "QQQ", weight: 0.5 }],
          cashReservePercent: 2.5,
          asOf: "2025-06-24",
        };
      },

      async *rebalance(request) {
        requireAccount(request.accountId);
        if (request.accountId === busyAccount) {
          throw new ConnectError(
            `account ${busyAccount} is busy with run run-7; retry later or set wait_if_busy`,
            Code.Aborted,
          );
        }
        fixed.rebalanceRequests.push(request);
        yield* runEvents(request, fixed);
      },

      getRun(request) {
        if (request.runId !== "run-1") {
          throw new ConnectError(`run ${request.runId} not found`, Code.NotFound);
        }
        return { run: { runId: "run-1", accountId: paperAccount, status: RunStatus.COMPLETED } };
      },

      listRuns(request) {
        requireAccount(request.accountId);
        const count = Math.min(request.limit === 0 ? 50 : request.limit, 3);
        return {
          runs: Array.from({ length: count }, (_, i) => ({
            runId: `run-${i + 1}`,
            accountId: request.accountId,
            status: RunStatus.COMPLETED,
          })),
        };
      },

      // Where the watch starts, then the acceptance of run-1; then the stream ends.
      async *watchRuns(request) {
        request.accountIds.forEach(requireAccount);
        yield { resumeToken: "start" };
        yield {
          runId: "run-1",
          accountId: paperAccount,
          mode: ExecutionMode.DRY_RUN,
          status: RunStatus.RUNNING,
          resumeToken: "after-1",
          event: create(RebalanceResponseSchema, {
            runId: "run-1",
            sequence: 1,
            time: timestampFromDate(asOf),
            event: {
              case: "accepted",
              value: { accountId: paperAccount, mode: ExecutionMode.DRY_RUN, idempotencyKey: "k" },
            },
          }),
        };
      },

      listOpenOrders(request) {
        requireAccount(request.accountId);
        return {
          orders: [order(request.accountId, "QQQ", OrderSide.SELL, 10, OrderStatus.SUBMITTED)],
        };
      },

      cancelOpenOrders(request) {
        requireAccount(request.accountId);
        return {
          cancelled: [order(request.accountId, "QQQ", OrderSide.SELL, 10, OrderStatus.CANCELLED)],
        };
      },

      // The server answers GetHealth itself; this one must never be reached.
      getHealth() {
        throw new ConnectError("the fixed service's GetHealth was called", Code.Internal);
      },
    },
  };
  return fixed;
}

function requireAccount(accountId: string): void {
  if (accountId === "") {
    throw new ConnectError("account_id is required", Code.InvalidArgument);
  }
  if (!known.has(accountId)) {
    throw new ConnectError(`account ${accountId} is not configured`, Code.NotFound);
  }
}

function order(
  accountId: string,
  symbol: string,
  side: OrderSide,
  quantity: number,
  status: OrderStatus,
  filled = 0,
  price = 0,
) {
  return {
    orderId: `${symbol}-1`,
    accountId,
    symbol,
    side,
    quantity,
    orderType: OrderType.MARKET,
    timeInForce: "DAY",
    status,
    filledQuantity: filled,
    averageFillPrice: price,
    runId: "run-1",
  };
}

/** The planned orders of every run: sell 10 QQQ, buy 25 EDC. */
export const plannedOrders = [
  { symbol: "QQQ", side: OrderSide.SELL, quantity: 10, price: 400.5, marketValue: 4005 },
  { symbol: "EDC", side: OrderSide.BUY, quantity: 25, price: 40.2, marketValue: 1005 },
];

async function* runEvents(
  request: RebalanceRequest,
  fixed: FixedRebalancerService,
): AsyncGenerator<RebalanceResponse> {
  let sequence = 0;
  const event = (init: Omit<MessageInitShape<typeof RebalanceResponseSchema>, "$typeName">) =>
    create(RebalanceResponseSchema, {
      runId: "run-1",
      sequence: ++sequence,
      time: timestampFromDate(new Date(asOf.getTime() + sequence * 1000)),
      ...init,
    });
  const live = request.mode === ExecutionMode.LIVE;
  yield event({
    event: {
      case: "accepted",
      value: {
        accountId: request.accountId,
        mode: live ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN,
        idempotencyKey: request.idempotencyKey || "generated-key",
      },
    },
  });
  yield event({ event: { case: "phase", value: { phase: Phase.PLANNING } } });
  yield event({
    event: {
      case: "plan",
      value: { plan: { orders: plannedOrders }, netLiquidation: 100_000, cash: 5_000 },
    },
  });
  await fixed.hold;
  if (request.accountId === failingAccount) {
    yield event({
      event: {
        case: "failed",
        value: {
          reason: FailureReason.ORDER_REJECTED,
          message: "sell of 10 QQQ rejected: insufficient shares",
        },
      },
    });
    return;
  }
  if (!live) {
    yield event({
      event: {
        case: "completed",
        value: { status: RunStatus.COMPLETED, message: "dry run: 2 orders planned" },
      },
    });
    return;
  }
  yield event({
    event: {
      case: "completed",
      value: {
        status: RunStatus.COMPLETED_WITH_ADJUSTMENTS,
        message: "EDC buy filled 20 of 25 shares",
        orders: [
          order(request.accountId, "QQQ", OrderSide.SELL, 10, OrderStatus.FILLED, 10, 400.25),
          order(request.accountId, "EDC", OrderSide.BUY, 25, OrderStatus.CANCELLED, 20, 40.105),
        ],
      },
    },
  });
}
