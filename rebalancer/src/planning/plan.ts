// The planner: plain data in (targets, holdings, prices, account values, settings), a plan out.
// Pure: no I/O, no broker or Protobuf types; the same input always gives the same plan.
//
// The formula, decided once:
//   reserve       = cashReservePercent / 100 x netLiquidation            (rounded to cents)
//   investable    = netLiquidation - reserve
//   target value  = effective weight x investable
//   current value = held quantity x market price       (never cost basis)
//   order         = target value - current value, in whole shares rounded down
//   weights shown = value / netLiquidation (the target shown: weight x investable / netLiquidation)
//   buys may spend at most cash + sell proceeds - reserve; otherwise all scale down together.
// Holdings outside the targets (or targeted at 0) are sold in full, ignoring band and minimum;
// a fractional remainder stays held because orders are whole shares. Rounding: see money.ts.

import { composePlan } from "./private/compose-plan.js";
import type { PlanInput } from "./plan-input.js";
import type { PlannedOrder } from "./planned-order.js";
import type { ProjectedWeight } from "./projected-weight.js";

// planBuys lives in plan-buys.ts; re-exported so that both halves of a run import from here.
export { planBuys } from "./plan-buys.js";

/** The orders that move an account toward its targets, and what the account looks like after. */
export interface Plan {
  /** Sorted by symbol. */
  sells: PlannedOrder[];
  /** Sorted by symbol. */
  buys: PlannedOrder[];
  /** Effective targets after replacements and merging, sorted by symbol. */
  targets: Array<{ symbol: string; weight: number }>;
  /** Every symbol held or targeted, sorted by symbol. */
  weights: ProjectedWeight[];
  /** Cash once every order fills at the planned prices. */
  projectedCash: number;
  /** Cash kept back by the reserve. */
  reservedCash: number;
  /** What did not stop the plan: symbols left alone, buys scaled to the cash, fractions kept. */
  warnings: string[];
}

/**
 * Plans sells and buys together: the buys are sized against the cash the sells will free. Throws
 * `PlanError` when the input is unusable or a risk cap would be crossed.
 */
export function plan(input: PlanInput): Plan {
  return composePlan(input, true);
}
