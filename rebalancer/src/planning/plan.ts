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

import type { Plan } from "./plan-result.js";

export type { Plan };

/**
 * Plans sells and buys together: the buys are sized against the cash the sells will free. Throws
 * `PlanError` when the input is unusable or a risk cap would be crossed.
 */
export function plan(input: PlanInput): Plan {
  return composePlan(input, true);
}
