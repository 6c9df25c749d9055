import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Account } from "@mesh/platform/accounts";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import {
  AllocationsFetchedSchema,
  PhaseChangedSchema,
  PlanReadySchema,
  RunCompletedSchema,
  RunFailedSchema,
  RunPostponedSchema,
  Phase,
  RunStatus,
  TargetSchema,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Allocations } from "../allocations/allocations.js";
import {
  applyReplacements,
  plan,
  planBuys,
  type Plan,
  type PlanInput,
  type PlannedOrder,
} from "../planning/index.js";
import { positionMessages } from "./broker-messages.js";
import { cancelOpenOrders } from "./cancel-open-orders.js";
import { closedMarket } from "./closed-market.js";
import { inSpan } from "./in-span.js";
import { checkOrderSizes, planMessage } from "./plan-message.js";
import { preflightPlan, type PreflightOutcome } from "./preflight.js";
import { trade, type TradeContext } from "./trade.js";
import { RunOrders } from "./run-orders.js";
import { RunFailure } from "./run-failure.js";
import type { ExecutionDeps } from "./execution-deps.js";
import type { Emit } from "./run-event.js";

/**
 * Runs one rebalance: reads, plans and (when `live`) cancels open orders, sells, waits for the
 * fills, re-reads cash, buys and waits. Every step is emitted as it happens; `run` is filled in
 * as the audit record. Never throws: failures end the run with a `failed` event.
 */
export async function executeRun(
  deps: ExecutionDeps,
  account: Account,
  run: Run,
  live: boolean,
  emit: Emit,
): Promise<void> {
  const attributes = { "run.id": run.runId, "account.id": account.accountId, "run.live": live };
  await inSpan("rebalance.run", attributes, async () => {
    await runPhases(deps, account, run, live, emit);
    const span = trace.getActiveSpan();
    span?.setAttribute("run.status", RunStatus[run.status]);
    if (run.status === RunStatus.FAILED) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: run.message });
    }
  });
}

async function runPhases(
  deps: ExecutionDeps,
  account: Account,
  run: Run,
  live: boolean,
  emit: Emit,
): Promise<void> {
  // Each phase is announced on the stream and is a span, parent of the broker calls made in it.
  const inPhase = async <T>(p: Phase, work: () => Promise<T> | T): Promise<T> => {
    await emit({ case: "phase", value: create(PhaseChangedSchema, { phase: p }) });
    return inSpan(`phase ${Phase[p].toLowerCase()}`, {}, work);
  };
  let orders: RunOrders | undefined;
  try {
    const { broker } = deps;
    const allocations = await inPhase(Phase.FETCHING_ALLOCATIONS, () =>
      inSpan("allocations.fetch", { "strategy.name": account.strategy }, () =>
        deps.allocations.targets(account),
      ),
    );
    const targets = applyReplacements(allocations.targets, account.replacements);
    run.targets = targets.map((t) => create(TargetSchema, t));
    await emit({
      case: "allocations",
      value: create(AllocationsFetchedSchema, {
        strategy: allocations.strategy,
        targets: run.targets,
        asOf: allocations.asOf,
      }),
    });

    const input = await inPhase(Phase.READING_ACCOUNT, () =>
      readAccount(deps, account, allocations, run, "before"),
    );
    let planned = await inPhase(Phase.PLANNING, () => plan(input));
    run.plan = planMessage(planned);
    const closed = await inPhase(Phase.CHECKING_HOURS, () =>
      closedMarket(deps, account, [...planned.sells, ...planned.buys]),
    );
    if (closed && !live) {
      // A preview is still worth showing at night; say what a live run would do.
      run.plan.warnings.push(`${closed.message}; a live run now would be postponed`);
    }
    // Every planned order checked with the broker before anything is cancelled or placed.
    let checked: PreflightOutcome | undefined;
    if ((!live || !closed) && planned.sells.length + planned.buys.length > 0) {
      checked = await inPhase(Phase.PREFLIGHT, () =>
        preflightPlan(deps, account, run, planned, live),
      );
      planned = checked.plan;
    }
    await emit({
      case: "plan",
      value: create(PlanReadySchema, {
        plan: run.plan,
        netLiquidation: run.netLiquidation,
        cash: run.cash,
      }),
    });
    if (!live) {
      return finish(run, emit, RunStatus.COMPLETED, dryRunMessage(planned) + (checked?.note ?? ""));
    }
    if (closed) {
      run.status = RunStatus.POSTPONED;
      run.message = closed.message;
      run.nextAttemptAt = closed.nextOpen ? timestampFromDate(closed.nextOpen) : undefined;
      return emit({
        case: "postponed",
        value: create(RunPostponedSchema, {
          nextAttemptAt: run.nextAttemptAt,
          message: closed.message,
        }),
      });
    }
    if (checked?.refusal) throw checked.refusal;
    if (planned.sells.length === 0 && planned.buys.length === 0) {
      return finish(run, emit, RunStatus.COMPLETED, "already balanced: nothing to trade");
    }

    // Every order event goes to the recorder as soon as it is known, submissions first.
    orders = new RunOrders(broker, run, emit);
    const ctx: TradeContext = { deps, account, run, orders, adjustments: [] };
    await inPhase(Phase.CANCELLING_OPEN_ORDERS, () =>
      cancelOpenOrders(broker, account.accountId, deps.cancelTimeoutMs ?? 60_000, {
        symbols: new Set([...planned.sells, ...planned.buys].map((o) => o.symbol)),
        foreign: deps.foreignOpenOrders ?? "refuse",
      }),
    );
    if (planned.sells.length > 0) {
      await inPhase(Phase.SELLING, async () => {
        await trade(ctx, planned.sells);
        await ctx.orders.recorded();
      });
    }
    const buys = await inPhase(Phase.REFRESHING_CASH, async () => {
      const refreshed = await readAccount(deps, account, allocations, run, "after sells");
      const replanned = checked
        ? checked.limitBuys(planBuys(refreshed).buys)
        : planBuys(refreshed).buys;
      checkOrderSizes(replanned);
      return replanned;
    });
    const { adjustments } = ctx;
    describeBuyChanges(planned.buys, buys, adjustments);
    if (buys.length > 0) {
      await inPhase(Phase.BUYING, async () => {
        await trade(ctx, buys);
        await ctx.orders.recorded();
      });
    }
    // The final record is written only once the broker's own view of the orders is in it.
    const behind = unreconciled(await orders.reconcile());
    run.cashAfterRun = await cashNow(deps, account);
    return finish(
      run,
      emit,
      adjustments.length > 0 ? RunStatus.COMPLETED_WITH_ADJUSTMENTS : RunStatus.COMPLETED,
      (adjustments.length > 0
        ? `completed with adjustments: ${adjustments.join("; ")}`
        : `completed: ${run.orders.length} orders filled`) + behind,
    );
  } catch (err) {
    const failure = RunFailure.from(err);
    // Whatever stopped the run, its record must say what the broker did with its orders.
    const settleMs = deps.settleTimeoutMs ?? 30_000;
    const behind = unreconciled(await orders?.reconcile(settleMs).catch((e: Error) => e.message));
    run.status = RunStatus.FAILED;
    run.failureReason = failure.reason;
    run.message = failure.message + behind;
    await emit({
      case: "failed",
      value: create(RunFailedSchema, {
        reason: failure.reason,
        message: failure.message,
        orders: run.orders,
      }),
    });
  } finally {
    orders?.close();
  }
}

/**
 * Reads the account for planning. The first read ("before") is the record's holdings, net
 * liquidation and cash; the re-read after the sells only adds the run's cash_after_sells, so the
 * record keeps what the run started from.
 */
async function readAccount(
  deps: ExecutionDeps,
  account: Account,
  allocations: Allocations,
  run: Run,
  when: "before" | "after sells",
): Promise<PlanInput> {
  const { broker } = deps;
  const [holdings, values] = await Promise.all([
    broker.holdings(account.accountId),
    broker.accountValues(account.accountId),
  ]);
  const targets = applyReplacements(allocations.targets, account.replacements);
  const symbols = [...new Set([...holdings.map((h) => h.symbol), ...targets.map((t) => t.symbol)])];
  const quotes = await broker.quotes(symbols);
  const prices = new Map([...quotes].map(([symbol, quote]) => [symbol, quote.price]));
  if (when === "before") {
    run.netLiquidation = values.netLiquidation;
    run.cash = values.cash;
    run.holdings = positionMessages(holdings, prices, values.netLiquidation);
  } else {
    run.cashAfterSells = values.cash;
  }
  return {
    targets: allocations.targets,
    holdings: holdings.map((h) => ({ symbol: h.symbol, quantity: h.quantity })),
    prices,
    netLiquidation: values.netLiquidation,
    cash: values.cash,
    settings: account.settings,
    replacements: account.replacements,
  };
}

/** The account's cash once the run traded; undefined (not a failure) when the broker cannot say. */
async function cashNow(deps: ExecutionDeps, account: Account): Promise<number | undefined> {
  try {
    return (await deps.broker.accountValues(account.accountId)).cash;
  } catch {
    return undefined;
  }
}

/** Buys re-planned against the real cash can differ from the first plan: say how. */
function describeBuyChanges(before: PlannedOrder[], after: PlannedOrder[], adjustments: string[]) {
  const now = new Map(after.map((o) => [o.symbol, o.quantity]));
  for (const o of before) {
    const quantity = now.get(o.symbol) ?? 0;
    if (quantity !== o.quantity) {
      adjustments.push(`buy of ${o.symbol} re-planned from ${o.quantity} to ${quantity} shares`);
    }
  }
}

/** What a final message adds when the broker could not be read before the final record. */
function unreconciled(problem: string | undefined): string {
  if (problem === undefined) return "";
  return `; the broker could not be asked for the orders' final state (${problem}): this record may be behind the broker, check ListOpenOrders`;
}

function dryRunMessage(planned: Plan): string {
  const count = planned.sells.length + planned.buys.length;
  return count === 0
    ? "dry run: already balanced, nothing to trade"
    : `dry run: ${planned.sells.length} sells and ${planned.buys.length} buys planned, nothing placed`;
}

async function finish(run: Run, emit: Emit, status: RunStatus, message: string): Promise<void> {
  run.status = status;
  run.message = message;
  await emit({
    case: "completed",
    value: create(RunCompletedSchema, { status, message, orders: run.orders }),
  });
}
