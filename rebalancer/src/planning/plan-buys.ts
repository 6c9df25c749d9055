import type { Plan } from "./plan-result.js";
import type { PlanInput } from "./plan-input.js";
import { composePlan } from "./private/compose-plan.js";

/**
 * Plans buys only (`sells` is empty, nothing is liquidated): for the second half of a run,
 * after the sells filled, with the cash re-read from the broker; and for putting new cash to work.
 * Same rules as `plan`: buys may spend at most cash - reserve.
 */
export function planBuys(input: PlanInput): Plan {
  return composePlan(input, false);
}
