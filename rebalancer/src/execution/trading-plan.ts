import type { Allocations } from "../allocations/allocations.js";
import type { PlannedOrder, Target } from "../planning/index.js";

/** What a live run trades once its plan is checked, and what it re-plans the buys with. */
export interface TradingPlan {
  /** The strategy's targets as published: the buys are re-planned with them after the sells. */
  allocations: Allocations;
  /** The account's targets, after its replacement set (the symbols priced when re-reading). */
  targets: Target[];
  sells: PlannedOrder[];
  /** The buys as planned; the run places them re-planned against the cash after the sells. */
  buys: PlannedOrder[];
  /** Caps the buys re-planned after the sells to what the preflight approved. */
  limitBuys(buys: PlannedOrder[]): PlannedOrder[];
}
