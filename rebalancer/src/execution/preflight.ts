// The preflight: after planning and before anything is cancelled or placed, every planned order
// is checked with the broker (IBKR what-if orders). A refusal stops a live run before its first
// sell, so the account is never left in cash it did not ask for; the what-if margins check that
// the buys fit the funds left after the sells. One call from the run: `preflightPlan`.

import { create } from "@bufbuild/protobuf";
import type { Account } from "@mesh/platform/accounts";
import {
  FailureReason,
  PreflightResultSchema,
  PreflightSchema,
  type Preflight,
  type PreflightResult,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { PreflightCheck } from "../broker/broker.js";
import {
  fitBuysToCash,
  roundMoney,
  sumMoney,
  toCents,
  type Plan,
  type PlannedOrder,
} from "../planning/index.js";
import { sideMessage } from "./broker-messages.js";
import type { ExecutionDeps } from "./execution-deps.js";
import { planMessage } from "./plan-message.js";
import { RunFailure } from "./run-failure.js";
import { orderRequest } from "./trade.js";

/** What the preflight decided, for the rest of the run. */
export interface PreflightOutcome {
  /** The plan to trade: the buys scaled down when the what-if margins did not fit the funds. */
  plan: Plan;
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
 * Checks every order of `planned` with the broker, records the answers on `run.plan.preflight`
 * (and the scaled buys and warnings on `run.plan`), and says how the run goes on. A broker that
 * cannot answer fails a live run (nothing placed yet) and only warns in a dry run.
 */
export async function preflightPlan(
  deps: ExecutionDeps,
  account: Account,
  run: Run,
  planned: Plan,
  live: boolean,
): Promise<PreflightOutcome> {
  const unchanged = (preflight: Preflight, note = ""): PreflightOutcome => {
    run.plan!.preflight = preflight;
    return { plan: planned, note, limitBuys: (buys) => buys };
  };
  const orders = [...planned.sells, ...planned.buys];
  const { broker } = deps;
  if (!account.settings.preflight) {
    return unchanged(skipped(`preflight: off for account ${account.accountId} (accounts.yaml)`));
  }
  if (!broker.preflight) {
    return unchanged(skipped(`the ${broker.name} broker cannot check orders before placing them`));
  }

  let checks: PreflightCheck[];
  let availableFunds: number;
  try {
    const requests = orders.map((o) => orderRequest(account, run.runId, o));
    // The adapter paces the messages; here they are all asked for at once.
    [availableFunds, checks] = await Promise.all([
      broker.accountValues(account.accountId).then((v) => v.availableFunds),
      Promise.all(requests.map((r) => broker.preflight!(r))),
    ]);
  } catch (err) {
    if (live) throw err;
    const message = RunFailure.from(err).message;
    run.plan!.warnings.push(`preflight not done (${message}); a live run now would fail`);
    return unchanged(skipped(`the broker could not check the orders: ${message}`));
  }

  const results = orders.map((o, i) => resultMessage(o, checks[i]!));
  const preflight = create(PreflightSchema, { checked: true, results, availableFunds });
  const refused = results.filter((r) => !r.accepted);
  if (refused.length > 0) {
    const failure = refusalOf(account, refused, orders.length);
    const outcome = unchanged(preflight, `; a live run would stop: ${failure.message}`);
    if (live) return { ...outcome, refusal: failure };
    run.plan!.warnings.push(
      ...refused.map((r) => `${describe(r)} would be refused by the broker: ${r.reason}`),
    );
    return outcome;
  }

  // Funds after the sells: the sells free their (negative) margin change; the reserve stays put.
  const sellChecks = checks.slice(0, planned.sells.length);
  const buyChecks = checks.slice(planned.sells.length);
  const freed = -sumMoney(sellChecks.map((c) => Math.min(0, c.initialMarginChange)));
  const fundsForBuys = roundMoney(availableFunds + freed - planned.reservedCash);
  const required = sumMoney(
    buyChecks.map((c) => Math.max(0, c.initialMarginChange) + c.commission),
  );
  preflight.fundsForBuys = fundsForBuys;
  preflight.buysRequired = required;
  run.plan!.preflight = preflight;

  let buys = planned.buys;
  const warnings: string[] = [];
  if (planned.buys.length > 0 && toCents(required) > toCents(fundsForBuys)) {
    // Scale as the planner does for cash, in value terms: the same share of every buy.
    const value = sumMoney(planned.buys.map((b) => b.value));
    const budget = Math.max(0, (value * fundsForBuys) / required);
    const fitted = fitBuysToCash(
      planned.buys,
      Math.floor(budget * 100),
      account.settings.minOrderValue,
      `${fundsForBuys.toFixed(2)} of funds are available after the sells and the reserve ` +
        `(the broker's what-if margins need ${required.toFixed(2)})`,
    );
    buys = fitted.buys;
    warnings.push(...fitted.warnings.map((w) => `preflight: ${w}`));
    preflight.buysScaled = true;
    run.plan!.orders = planMessage({ ...planned, buys }).orders;
    run.plan!.warnings.push(...warnings);
  }
  const approved = new Map(buys.map((b) => [b.symbol, b.quantity]));
  return {
    plan: { ...planned, buys, warnings: [...planned.warnings, ...warnings] },
    note: preflight.buysScaled ? "; buys scaled to the funds the broker reports" : "",
    limitBuys: (replanned) =>
      replanned.flatMap((b) => {
        const cap = approved.get(b.symbol) ?? 0;
        if (cap === 0) return [];
        return b.quantity <= cap
          ? [b]
          : [{ ...b, quantity: cap, value: roundMoney(cap * b.price) }];
      }),
  };
}

/** True when the broker's reason is a retirement-account (IRA) restriction. */
export function isRetirementRestriction(reason: string): boolean {
  return /retirement|\bIRA\b/i.test(reason);
}

function skipped(reason: string): Preflight {
  return create(PreflightSchema, { checked: false, skippedReason: reason });
}

function resultMessage(order: PlannedOrder, check: PreflightCheck): PreflightResult {
  return create(PreflightResultSchema, {
    symbol: order.symbol,
    side: sideMessage(order.side),
    quantity: order.quantity,
    accepted: check.accepted,
    reason: check.reason,
    brokerCode: check.brokerCode,
    initialMarginChange: check.initialMarginChange,
    maintenanceMarginChange: check.maintenanceMarginChange,
    equityWithLoanChange: check.equityWithLoanChange,
    commission: check.commission,
    commissionCurrency: check.commissionCurrency,
    warnings: check.warnings,
  });
}

function describe(r: PreflightResult): string {
  const side = r.side === sideMessage("buy") ? "buy" : "sell";
  return `${side} of ${r.quantity} ${r.symbol}`;
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
  return new RunFailure(FailureReason.PREFLIGHT_REFUSED, message);
}
