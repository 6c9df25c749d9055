// The first step of a resumed run, in its `resuming` phase: the broker's view of the run's orders
// (by order reference) into the record, a `resumed` event saying what was found and what comes
// next, the checks that make going on safe, and the wait for the orders still working. What
// follows is the fresh run's own path (execute-run.ts), on what is left to do.
import type { BrokerOrder } from "../broker/broker.js";
import type { PlannedOrder } from "../planning/index.js";
import { awaitOrders } from "./await-orders.js";
import { closedMarket } from "./closed-market.js";
import type { FailureCode } from "./failure-code.js";
import { limitBuys } from "./limit-buys.js";
import { notYetOrdered } from "./not-yet-ordered.js";
import { isTerminal } from "./order-tracker.js";
import { RunFailure } from "./run-failure.js";
import type { RunProgress } from "./run-progress.js";
import type { ResumeCause } from "./run-resumption.js";
import type { TradeContext } from "./trade-context.js";
import type { TradingPlan } from "./trading-plan.js";

/** Why and how a run is resumed. */
export interface ResumeRequest {
  cause: ResumeCause;
  /**
   * Why the run may no longer trade its account, in the account gate's words (disabled, gone,
   * another type than TRADING_MODE); absent when it may. Checked by the caller, who has the gate.
   */
  refusal?: string;
}

/** How a resumed run goes on after its resuming phase. */
export type ResumeDecision =
  /** Nothing was placed: the run goes through every phase again, from the allocations. */
  | { kind: "start_over" }
  /** Orders were placed and have all ended: the run goes on with the rest of its plan. */
  | { kind: "go_on"; plan: TradingPlan; adjustments: string[] };

/** Default RUN_RESUME_MAX_AGE. */
const defaultMaxAgeMs = 30 * 60_000;

/**
 * Reconciles a run that stopped with the broker, records `resumed`, and decides how it goes on.
 * Throws a RunFailure when it must not go on (account refused, too old, market closed, the broker
 * unreadable), after cancelling its working orders where the account may still be touched; the
 * caller's failure path then settles and records them, as for any failed run.
 */
export async function resumeWhereStopped(
  ctx: TradeContext,
  request: ResumeRequest,
): Promise<ResumeDecision> {
  const progress = ctx.progress();
  const recordedIds = new Set(progress.orders.map((o) => o.orderId));
  const fillsBefore = ctx.orders.fillCount;
  const unreadable = await ctx.orders.reconcile();
  // A run refused anyway ends on its record alone; any other must know what the broker holds.
  if (unreadable !== undefined && request.refusal === undefined) {
    // Without the broker's word the run cannot know what is working: going on could double an order.
    throw new RunFailure(
      "broker_unavailable",
      `the run stopped mid-way and the broker could not be asked for its orders (${unreadable}); ` +
        "nothing more was placed: check ListOpenOrders",
    );
  }
  const found = ctx.orders.list();
  const adoptedOrderIds = found.filter((o) => !recordedIds.has(o.orderId)).map((o) => o.orderId);
  const fillsRecovered = ctx.orders.fillCount - fillsBefore;
  const working = found.filter((o) => !isTerminal(o));
  const traded = found.length > 0;

  const stop = await refusal(ctx, request, progress, found);
  const seen =
    unreadable === undefined
      ? describeFound(found, adoptedOrderIds.length, fillsRecovered)
      : `the broker could not be asked for the run's orders (${unreadable}); the record has ${count(found.length, "order")}`;
  await ctx.record({
    kind: "resumed",
    resumption: {
      cause: request.cause,
      phase: progress.phase,
      orders: found,
      adoptedOrderIds,
      fillsRecovered,
      message: `${seen}; ${stop ? `not resumed: ${stop.message}` : nextSteps(ctx, progress, found)}`,
    },
  });
  if (stop) {
    let left = "";
    if (working.length > 0 && stop.cancel) {
      // Nothing may work on unwatched: the failure path waits for these to end and records it.
      await Promise.all(
        working.map((o) => ctx.deps.broker.cancelOrder(o.orderId).catch(() => undefined)),
      );
      left = `; its ${count(working.length, "working order")} cancelled`;
    } else if (working.length > 0) {
      left = `; ${count(working.length, "order")} still working, not touched: check ListOpenOrders`;
    }
    const traded = found.some((o) => o.filledQuantity > 0)
      ? "; what it traded before is in the record (the account may be part-way, e.g. sold and not yet bought)"
      : "";
    throw new RunFailure(
      stop.reason,
      `not resumed after it stopped: ${stop.message}; nothing more was placed${left}${traded}`,
    );
  }
  if (!traded) return { kind: "start_over" };

  // Whatever was working ends before the account is read again: no buy before every sell is done.
  const adjustments = await awaitOrders(
    ctx,
    found.map((o) => o.orderId),
  );
  return { kind: "go_on", plan: await tradingPlanOf(ctx, progress), adjustments };
}

/** What makes going on unsafe, if anything. */
async function refusal(
  ctx: TradeContext,
  request: ResumeRequest,
  progress: RunProgress,
  found: BrokerOrder[],
): Promise<{ reason: FailureCode; message: string; cancel: boolean } | undefined> {
  // The account may no longer be traded from here: leave it exactly as it is.
  if (request.refusal !== undefined) {
    return { reason: "live_guard", message: request.refusal, cancel: false };
  }
  const maxAgeMs = ctx.deps.resumeMaxAgeMs ?? defaultMaxAgeMs;
  const ageMs = ctx.deps.now().getTime() - ctx.startedAt.getTime();
  if (ageMs > maxAgeMs) {
    return {
      reason: "resume_expired",
      message:
        `the run was accepted ${duration(ageMs)} ago, longer than the ${duration(maxAgeMs)} ` +
        "a run may be resumed after (RUN_RESUME_MAX_AGE)",
      cancel: true,
    };
  }
  // A run that placed nothing starts over, and a closed market postpones it as any run.
  if (found.length === 0 || !progress.plan) return undefined;
  const closed = await closedMarket(ctx, symbolsLeft(progress.plan, found));
  if (closed) return { reason: "market_closed", message: closed.message, cancel: true };
  return undefined;
}

/** The symbols the run still has to trade: its working orders', and the planned ones not ordered. */
function symbolsLeft(plan: NonNullable<RunProgress["plan"]>, found: BrokerOrder[]): string[] {
  return [
    ...found.filter((o) => !isTerminal(o)),
    ...notYetOrdered([...plan.sells, ...plan.buys], found),
  ].map((o) => o.symbol);
}

/** The rest of the run's plan, as its journal has it. */
async function tradingPlanOf(ctx: TradeContext, progress: RunProgress): Promise<TradingPlan> {
  const { plan, allocations } = progress;
  if (!plan || !allocations) {
    throw new RunFailure(
      "internal",
      "internal error: the run has orders at the broker but its record has no checked plan to go on with",
    );
  }
  // Journals from before runs could resume lack the published targets: fetch them again.
  const published = allocations.published
    ? { strategy: allocations.strategy, targets: allocations.published, asOf: allocations.asOf }
    : await ctx.deps.allocations.targets(ctx.account);
  const approved = plan.buys;
  return {
    allocations: published,
    targets: allocations.targets,
    sells: plan.sells,
    buys: plan.buys,
    limitBuys: plan.preflight?.checked
      ? (buys: PlannedOrder[]) => limitBuys(buys, approved)
      : (buys: PlannedOrder[]) => buys,
  };
}

/** e.g. "the broker has 3 orders of the run (2 filled, 1 working; 1 adopted: missing from the record) and 2 fills the record lacked". */
function describeFound(found: BrokerOrder[], adopted: number, fills: number): string {
  if (found.length === 0) return "the broker has no order of the run";
  const byStatus = new Map<string, number>();
  for (const o of found) {
    const status = isTerminal(o) ? o.status : "working";
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }
  const states = [...byStatus].map(([status, n]) => `${n} ${status}`).join(", ");
  const missing = adopted > 0 ? `; ${adopted} missing from the record, now adopted` : "";
  const recovered = fills > 0 ? ` and ${count(fills, "fill")} the record lacked` : "";
  return `the broker has ${count(found.length, "order")} of the run (${states}${missing})${recovered}`;
}

/** What the run does next, for the `resumed` event. */
function nextSteps(ctx: TradeContext, progress: RunProgress, found: BrokerOrder[]): string {
  if (found.length === 0) {
    return ctx.live
      ? "nothing was placed: the run starts over from the allocations"
      : "a dry run: it plans again from the allocations";
  }
  const steps: string[] = [];
  const working = found.filter((o) => !isTerminal(o)).length;
  if (working > 0) steps.push(`wait for ${count(working, "working order")}`);
  const sells = notYetOrdered(progress.plan?.sells ?? [], found).length;
  if (sells > 0) steps.push(`place ${count(sells, "sell")} not placed yet`);
  steps.push(
    "re-plan the buys against the cash and holdings the broker reports, never ordering a symbol twice",
  );
  return `continuing: ${steps.join(", then ")}`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** e.g. "45 min", "90 s". */
function duration(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
