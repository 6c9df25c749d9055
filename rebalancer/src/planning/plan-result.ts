import type { PlannedOrder } from "./planned-order.js";
import type { ProjectedWeight } from "./projected-weight.js";

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
