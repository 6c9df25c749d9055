// The preflight: after planning and before anything is cancelled or placed, every planned order
// is checked with the broker (IBKR what-if orders). A refusal stops a live run before its first
// sell, so the account is never left in cash it did not ask for; the what-if margins check that
// the buys fit the funds left after the sells. One call from the run: `preflightPlan`.

import type { Account } from "@mesh/platform/accounts";
import type { PreflightCheck } from "../broker/broker.js";
import {
  fitBuysToCash,
  roundMoney,
  sumMoney,
  toCents,
  type Plan,
  type PlannedOrder,
} from "../planning/index.js";
import { checkOrderSizes } from "./check-order-sizes.js";
import { limitBuys } from "./limit-buys.js";
import { orderRequest } from "./order-request.js";
import type { PreflightReport, PreflightResult } from "./preflight-report.js";
import type { RunContext } from "./run-context.js";
import { RunFailure } from "./run-failure.js";

/** What the preflight decided, for the rest of the run. */
export interface PreflightOutcome {
  /** The plan to trade: the buys scaled down when the what-if margins did not fit the funds. */
  plan: Plan;
  /** What the broker answered, for the run's record. */
  report: PreflightReport;
  /** Set when the broker refused an order: a live run must stop with it before placing anything. */
  refusal?: RunFailure;
  /** For a dry run's final message: what a live run would do differently ("" when nothing). */
  note: string;
  /**
   * Caps the buys re-planned after the sells to what the preflight accepted: a symbol it did not
   * check is not bought, and no buy grows beyond its checked quantity.
   */
  limitBuys(buys: PlannedOrder[]): PlannedOrder[];
}

/**
 * Checks every order of `planned` with the broker, records a warning for what a live run would
 * meet, and says how the run goes on. A broker that cannot answer fails a live run (nothing
 * placed yet) and only warns in a dry run.
 */
export async function preflightPlan(ctx: RunContext, planned: Plan): Promise<PreflightOutcome> {
  const { account, live } = ctx;
  const unchanged = (report: PreflightReport, note = ""): PreflightOutcome => ({
    plan: planned,
    report,
    note,
    limitBuys: (buys) => buys,
  });
  const orders = [...planned.sells, ...planned.buys];
  const { broker } = ctx.deps;
  if (!account.settings.preflight) {
    return unchanged(skipped(`preflight: off for account ${account.accountId} (accounts.yaml)`));
  }
  if (!broker.preflight) {
    return unchanged(skipped(`the ${broker.name} broker cannot check orders before placing them`));
  }

  let checks: PreflightCheck[];
  let availableFunds: number;
  try {
    const requests = orders.map((o) => orderRequest(account, ctx.runId, o));
    // The adapter paces the messages; here they are all asked for at once.
    [availableFunds, checks] = await Promise.all([
      broker.accountValues(account.accountId).then((v) => v.availableFunds),
      Promise.all(requests.map((r) => broker.preflight!(r))),
    ]);
  } catch (err) {
    if (live) throw err;
    const message = RunFailure.from(err).message;
    await ctx.record({
      kind: "warning",
      message: `preflight not done (${message}); a live run now would fail`,
    });
    return unchanged(skipped(`the broker could not check the orders: ${message}`));
  }

  const results = orders.map((o, i) => resultOf(o, checks[i]!));
  const report: PreflightReport = { ...skipped(""), checked: true, results, availableFunds };
  const refused = results.filter((r) => !r.accepted);
  if (refused.length > 0) {
    const failure = refusalOf(account, refused, orders.length);
    const outcome = unchanged(report, `; a live run would stop: ${failure.message}`);
    if (live) return { ...outcome, refusal: failure };
    for (const r of refused) {
      await ctx.record({
        kind: "warning",
        message: `${describe(r)} would be refused by the broker: ${r.reason}`,
      });
    }
    return outcome;
  }

  // Funds after the sells: the sells free their (negative) margin change; the reserve stays put.
  const sellChecks = checks.slice(0, planned.sells.length);
  const buyChecks = checks.slice(planned.sells.length);
  const freed = -sumMoney(sellChecks.map((c) => Math.min(0, c.initialMarginChange)));
  report.fundsForBuys = roundMoney(availableFunds + freed - planned.reservedCash);
  report.buysRequired = sumMoney(
    buyChecks.map((c) => Math.max(0, c.initialMarginChange) + c.commission),
  );
  const { fundsForBuys, buysRequired } = report;

  let buys = planned.buys;
  const warnings: string[] = [];
  if (planned.buys.length > 0 && toCents(buysRequired) > toCents(fundsForBuys)) {
    // Scale as the planner does for cash, in value terms: the same share of every buy.
    const value = sumMoney(planned.buys.map((b) => b.value));
    const budget = Math.max(0, (value * fundsForBuys) / buysRequired);
    const fitted = fitBuysToCash(
      planned.buys,
      Math.floor(budget * 100),
      account.settings.minOrderValue,
      `${fundsForBuys.toFixed(2)} of funds are available after the sells and the reserve ` +
        `(the broker's what-if margins need ${buysRequired.toFixed(2)})`,
    );
    buys = fitted.buys;
    checkOrderSizes(buys);
    warnings.push(...fitted.warnings.map((w) => `preflight: ${w}`));
    report.buysScaled = true;
    for (const message of warnings) await ctx.record({ kind: "warning", message });
  }
  return {
    plan: { ...planned, buys, warnings: [...planned.warnings, ...warnings] },
    report,
    note: report.buysScaled ? "; buys scaled to the funds the broker reports" : "",
    limitBuys: (replanned) => limitBuys(replanned, buys),
  };
}

/** True when the broker's reason is a retirement-account (IRA) restriction. */
export function isRetirementRestriction(reason: string): boolean {
  return /retirement|\bIRA\b/i.test(reason);
}

function skipped(reason: string): PreflightReport {
  return {
    checked: false,
    skippedReason: reason,
    results: [],
    availableFunds: 0,
    fundsForBuys: 0,
    buysRequired: 0,
    buysScaled: false,
  };
}

function resultOf(order: PlannedOrder, check: PreflightCheck): PreflightResult {
  return { symbol: order.symbol, side: order.side, quantity: order.quantity, ...check };
}

function describe(r: PreflightResult): string {
  return `${r.side} of ${r.quantity} ${r.symbol}`;
}

/** The run's failure: every refused order with the broker's reason, and what to do about it. */
function refusalOf(account: Account, refused: PreflightResult[], total: number): RunFailure {
  const each = refused.map(
    (r) => `${describe(r)}: ${r.reason}${r.brokerCode ? ` (IB ${r.brokerCode})` : ""}`,
  );
  let message =
    `preflight: the broker refused ${refused.length} of ${total} planned orders, so nothing was ` +
    `cancelled or placed: ${each.join("; ")}`;
  const restricted = refused.filter((r) => isRetirementRestriction(r.reason)).map((r) => r.symbol);
  if (restricted.length > 0) {
    const symbols = [...new Set(restricted)].join(", ");
    message += account.replacementSet
      ? `. ${symbols} cannot be held in this retirement account: add ${symbols} to its ` +
        `replacement set "${account.replacementSet}" in accounts.yaml (e.g. { source: ` +
        `${restricted[0]}, target: <a permitted symbol>, scale: 1.0 })`
      : `. ${symbols} cannot be held in this retirement account: give ${account.accountId} a ` +
        `replacement set in accounts.yaml (replacement_sets, e.g. ira: [{ source: ` +
        `${restricted[0]}, target: <a permitted symbol>, scale: 1.0 }], and replacement_set: ira)`;
  }
  return new RunFailure("preflight_refused", message);
}
