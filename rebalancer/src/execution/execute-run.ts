import { SpanStatusCode, trace } from "@opentelemetry/api";
import type { Allocations } from "../allocations/allocations.js";
import {
  applyReplacements,
  plan,
  planBuys,
  type Plan,
  type PlannedOrder,
  type Target,
} from "../planning/index.js";
import { cancelOpenOrders } from "./cancel-open-orders.js";
import { checkOrderSizes } from "./check-order-sizes.js";
import { closedMarket } from "./closed-market.js";
import { inSpan } from "./in-span.js";
import { notYetOrdered } from "./not-yet-ordered.js";
import { preflightPlan, type PreflightOutcome } from "./preflight.js";
import { readAccount } from "./read-account.js";
import { resumeWhereStopped, type ResumeRequest } from "./resume-where-stopped.js";
import type { RunContext } from "./run-context.js";
import { RunFailure } from "./run-failure.js";
import { RunHandover } from "./run-handover.js";
import { RunOrders } from "./run-orders.js";
import type { RunOutcome } from "./run-outcome.js";
import type { RunPhase } from "./run-phase.js";
import { trade } from "./trade.js";
import { untilHandedOver } from "./until-handed-over.js";
import type { TradingPlan } from "./trading-plan.js";

/**
 * Runs one rebalance: reads, plans and (when live) cancels open orders, sells, waits for the
 * fills, re-reads cash, buys and waits. Every step is recorded as it happens, the outcome last.
 * A broker link that drops and comes back within the deps' reconnect window resumes the run
 * (as continueRun does). Rejects only when an event could not be recorded; any other failure is
 * the `failed` outcome. Resolves with undefined when the run was handed over (ctx.handover):
 * then it recorded no outcome and is left to be resumed.
 */
export async function executeRun(ctx: RunContext): Promise<RunOutcome | undefined> {
  return inRunSpan(ctx, () => runPhases(ctx));
}

/**
 * Resumes a run that stopped (see resumeWhereStopped): under the same run id, from where its
 * journal (ctx.progress) says it stood, through the same phases as a fresh run, placing only what
 * it had not placed yet. Resolves as executeRun does.
 */
export async function continueRun(
  ctx: RunContext,
  request: ResumeRequest,
): Promise<RunOutcome | undefined> {
  return inRunSpan(ctx, () => runPhases(ctx, request));
}

async function inRunSpan(
  ctx: RunContext,
  work: () => Promise<RunOutcome | undefined>,
): Promise<RunOutcome | undefined> {
  const { runId, account, live } = ctx;
  const attributes = { "run.id": runId, "account.id": account.accountId, "run.live": live };
  return inSpan("rebalance.run", attributes, async () => {
    const outcome = await work();
    const span = trace.getActiveSpan();
    span?.setAttribute("run.status", outcome ? outcome.status.toUpperCase() : "HANDED_OVER");
    if (outcome?.status === "failed") {
      span?.setStatus({
        code: SpanStatusCode.ERROR,
        message: outcome.message + outcome.recordNote,
      });
    }
    return outcome;
  });
}

/** Starts a phase: recorded, then a span that is the parent of the broker calls made in it. */
type InPhase = <T>(phase: RunPhase, work: () => Promise<T> | T) => Promise<T>;

/** The plan a run trades, once checked against market hours and the broker. */
interface CheckedPlan {
  allocations: Allocations;
  /** The account's targets, after its replacement set: applied once per run. */
  targets: Target[];
  plan: Plan;
  closed?: { message: string; nextOpen?: Date };
  checked?: PreflightOutcome;
}

/** How many times one run resumes in-process after its broker link came back, at most. */
const maxReconnects = 3;

async function runPhases(
  ctx: RunContext,
  resumeFirst?: ResumeRequest,
): Promise<RunOutcome | undefined> {
  const inPhase: InPhase = async (phase, work) => {
    if (ctx.handover?.aborted) throw new RunHandover(ctx.runId);
    await ctx.record({ kind: "phaseStarted", phase });
    return inSpan(`phase ${phase}`, {}, work);
  };
  const run: RunPass = { ctx, inPhase, resume: resumeFirst, resumed: false };
  let reconnects = 0;
  try {
    for (;;) {
      try {
        return await runOnce(run);
      } catch (err) {
        if (err instanceof RunHandover) throw err;
        // A broker link back within the window: the run goes on from where it stands.
        if (!(await linkBack(ctx, RunFailure.from(err), reconnects))) throw err;
        reconnects++;
        await run.orders?.recorded();
        // A resume the link cut short before it said what it found keeps its own cause.
        if (!run.resume || run.resumed) {
          run.resume = { cause: "broker_reconnected", refusal: run.resume?.refusal };
        }
        run.resumed = false;
      }
    }
  } catch (err) {
    if (err instanceof RunHandover) return undefined;
    const failure = RunFailure.from(err);
    // Whatever stopped the run, its record must say what the broker did with its orders.
    const settleMs = ctx.deps.settleTimeoutMs ?? 30_000;
    const { orders } = run;
    // A run handed over meanwhile stops waiting: its failure is recorded as the broker has it now.
    const settled =
      orders &&
      untilHandedOver(ctx, orders.reconcile(settleMs)).catch((e: Error) =>
        e instanceof RunHandover ? orders.reconcile() : e.message,
      );
    const behind = unreconciled(await settled);
    return finish(ctx, {
      status: "failed",
      reason: failure.reason,
      message: failure.message,
      recordNote: behind,
    });
  } finally {
    run.orders?.close();
  }
}

/** A run going through its phases, perhaps more than once (resumed after a lost broker link). */
interface RunPass {
  ctx: RunContext;
  inPhase: InPhase;
  /** The run's orders as recorded, once it follows them. */
  orders?: RunOrders;
  /** Set when this pass resumes the run rather than starting it. */
  resume?: ResumeRequest;
  /** True once this pass's resume recorded what it found. */
  resumed: boolean;
}

/**
 * One pass through the phases, to the outcome: from the start, or (resuming) from where the
 * broker and the journal say the run stands, going through the same phases as a fresh run.
 */
async function runOnce(run: RunPass): Promise<RunOutcome> {
  const { ctx, inPhase } = run;
  const adjustments: string[] = [];
  let trading: TradingPlan | undefined;
  if (run.resume) {
    // Subscribed before the broker is read, so nothing that happens meanwhile is missed.
    const orders = (run.orders ??= new RunOrders(ctx, ctx.progress()));
    const request = run.resume;
    const record: RunContext["record"] = (event) => {
      if (event.kind === "resumed") run.resumed = true;
      return ctx.record(event);
    };
    const decision = await inPhase("resuming", () =>
      resumeWhereStopped({ ...ctx, orders, record }, request),
    );
    if (decision.kind === "go_on") {
      trading = decision.plan;
      adjustments.push(...decision.adjustments);
    }
  }
  if (!trading) {
    const prepared = await preparePlan(ctx, inPhase);
    const early = outcomeBeforeTrading(ctx, prepared);
    if (early) return await finish(ctx, early);
    trading = tradingPlan(prepared);
  }
  // Every order event goes to the recorder as soon as it is known, placements first.
  const orders = (run.orders ??= new RunOrders(ctx));
  const goingOn = run.resume !== undefined && orders.size > 0;
  adjustments.push(...(await tradePlan(ctx, inPhase, orders, trading, goingOn)));
  // The final record is written only once the broker's own view of the orders is in it.
  const behind = unreconciled(await orders.reconcile());
  await recordCashAfterRun(ctx);
  const message =
    adjustments.length > 0
      ? `completed with adjustments: ${adjustments.join("; ")}`
      : `completed: ${orders.size} orders filled`;
  return await finish(ctx, {
    status: adjustments.length > 0 ? "completed_with_adjustments" : "completed",
    message: message + behind,
  });
}

/**
 * After a run failed for want of the broker: true once the link is back within the reconnect
 * window (the run then resumes), false when the run must fail (another failure, window 0 or
 * over, or this run has reconnected too often).
 */
async function linkBack(
  ctx: RunContext,
  failure: RunFailure,
  reconnects: number,
): Promise<boolean> {
  const windowMs = ctx.deps.reconnectWindowMs ?? 120_000;
  if (failure.reason !== "broker_unavailable" || windowMs <= 0 || reconnects >= maxReconnects) {
    return false;
  }
  const deadline = Date.now() + windowMs;
  for (;;) {
    if (ctx.handover?.aborted) throw new RunHandover(ctx.runId);
    // Connected again, after a reconnect that read the open orders and executions.
    if (ctx.deps.broker.health().connected) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, left)));
  }
}

/** Fetches the targets, reads the account, plans, and checks the plan (hours, preflight). */
async function preparePlan(ctx: RunContext, inPhase: InPhase): Promise<CheckedPlan> {
  const { deps, account, live } = ctx;
  const allocations = await inPhase("fetching_allocations", () =>
    inSpan("allocations.fetch", { "strategy.name": account.strategy }, () =>
      deps.allocations.targets(account),
    ),
  );
  const targets = applyReplacements(allocations.targets, account.replacements);
  await ctx.record({
    kind: "allocationsFetched",
    strategy: allocations.strategy,
    targets,
    asOf: allocations.asOf,
    published: allocations.targets,
  });

  const input = await inPhase("reading_account", () =>
    readAccount(ctx, allocations, targets, "start"),
  );
  let planned = await inPhase("planning", () => plan(input));
  checkOrderSizes([...planned.sells, ...planned.buys]);
  await ctx.record({ kind: "planMade", plan: planned });
  const closed = await inPhase("checking_hours", () =>
    closedMarket(
      ctx,
      [...planned.sells, ...planned.buys].map((o) => o.symbol),
    ),
  );
  if (closed && !live) {
    // A preview is still worth showing at night; say what a live run would do.
    await ctx.record({
      kind: "warning",
      message: `${closed.message}; a live run now would be postponed`,
    });
  }
  // Every planned order checked with the broker before anything is cancelled or placed.
  let checked: PreflightOutcome | undefined;
  if ((!live || !closed) && planned.sells.length + planned.buys.length > 0) {
    checked = await inPhase("preflight", () => preflightPlan(ctx, planned));
    planned = checked.plan;
  }
  await ctx.record({
    kind: "planChecked",
    preflight: checked?.report,
    buys: checked?.report.buysScaled ? planned.buys : undefined,
  });
  return { allocations, targets, plan: planned, closed, checked };
}

/** How a run ends without trading (a dry run, a closed market, a refusal), if it does. */
function outcomeBeforeTrading(ctx: RunContext, prepared: CheckedPlan): RunOutcome | undefined {
  const { plan: planned, closed, checked } = prepared;
  if (!ctx.live) {
    return { status: "completed", message: dryRunMessage(planned) + (checked?.note ?? "") };
  }
  if (closed)
    return { status: "postponed", message: closed.message, nextAttemptAt: closed.nextOpen };
  if (checked?.refusal) throw checked.refusal;
  if (planned.sells.length === 0 && planned.buys.length === 0) {
    return { status: "completed", message: "already balanced: nothing to trade" };
  }
  return undefined;
}

/** What the checked plan trades, and how its buys are re-planned after the sells. */
function tradingPlan(prepared: CheckedPlan): TradingPlan {
  const { allocations, targets, plan: planned, checked } = prepared;
  return {
    allocations,
    targets,
    sells: planned.sells,
    buys: planned.buys,
    limitBuys: (buys) => (checked ? checked.limitBuys(buys) : buys),
  };
}

/**
 * Cancels the account's open orders, sells, re-plans the buys against the cash the broker then
 * reports, and buys. A `resumed` run (one that has placed orders, all ended by now) skips the
 * cancel, places only what it has no order for yet, and checks the market is still open before
 * it places anything. Resolves with what differed from the plan.
 */
async function tradePlan(
  ctx: RunContext,
  inPhase: InPhase,
  orders: RunOrders,
  planned: TradingPlan,
  resumed: boolean,
): Promise<string[]> {
  const tradeCtx = { ...ctx, orders };
  const adjustments: string[] = [];
  if (!resumed) {
    const symbols = new Set([...planned.sells, ...planned.buys].map((o) => o.symbol));
    await inPhase("cancelling_open_orders", () => cancelOpenOrders(ctx, symbols));
  }
  const sells = notYetOrdered(planned.sells, orders.list());
  if (sells.length > 0) {
    await inPhase("selling", async () => {
      if (resumed) await refuseClosed(ctx, sells);
      adjustments.push(...(await trade(tradeCtx, sells)));
      await orders.recorded();
    });
  }
  const buys = await inPhase("refreshing_cash", async () => {
    const refreshed = await readAccount(ctx, planned.allocations, planned.targets, "after sells");
    const replanned = planned.limitBuys(planBuys(refreshed).buys);
    // A buy placed before a stop stays the symbol's only one: the holdings already count it.
    const limited = notYetOrdered(replanned, orders.list());
    checkOrderSizes(limited);
    return limited;
  });
  const bought = orders.list().filter((o) => o.side === "buy");
  adjustments.push(...buyChanges(planned.buys, [...bought, ...buys]));
  if (buys.length > 0) {
    await inPhase("buying", async () => {
      if (resumed) await refuseClosed(ctx, buys);
      adjustments.push(...(await trade(tradeCtx, buys)));
      await orders.recorded();
    });
  }
  return adjustments;
}

/** A resumed run places nothing on a market that closed while it went on. */
async function refuseClosed(ctx: RunContext, orders: PlannedOrder[]): Promise<void> {
  const closed = await closedMarket(
    ctx,
    orders.map((o) => o.symbol),
  );
  if (closed) {
    throw new RunFailure(
      "market_closed",
      `${closed.message}: the resumed run placed nothing more; what it traded before is in the record`,
    );
  }
}

/** Records the account's cash once the run traded; a broker that cannot say fails nothing. */
async function recordCashAfterRun(ctx: RunContext): Promise<void> {
  const values = await ctx.deps.broker.accountValues(ctx.account.accountId).catch(() => undefined);
  if (values) await ctx.record({ kind: "cashAfterRun", cash: values.cash });
}

/** Buys re-planned against the real cash can differ from the first plan: say how. */
function buyChanges(
  before: PlannedOrder[],
  after: Pick<PlannedOrder, "symbol" | "quantity">[],
): string[] {
  const now = new Map(after.map((o) => [o.symbol, o.quantity]));
  return before.flatMap((o) => {
    const quantity = now.get(o.symbol) ?? 0;
    return quantity === o.quantity
      ? []
      : [`buy of ${o.symbol} re-planned from ${o.quantity} to ${quantity} shares`];
  });
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

async function finish(ctx: RunContext, outcome: RunOutcome): Promise<RunOutcome> {
  await ctx.record({ kind: "outcome", outcome });
  return outcome;
}
