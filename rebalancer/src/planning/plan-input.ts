import type { Replacement } from "./replacement.js";
import type { PlanSettings } from "./plan-settings.js";

/** Everything a plan is made from: plain data read from the strategy, the broker and the config. */
export interface PlanInput {
  /** Target weights from the strategy, each in [0, 1], summing to at most 1 (+0.005). */
  targets: ReadonlyArray<{ symbol: string; weight: number }>;
  /** Shares held per symbol; may be fractional; a negative (short) holding is refused. */
  holdings: ReadonlyArray<{ symbol: string; quantity: number }>;
  /** Market price per symbol. Holdings are valued at these prices, never at cost basis. */
  prices: ReadonlyMap<string, number>;
  /** The account's net liquidation value; the base of every weight. Must be > 0. */
  netLiquidation: number;
  /** Cash in the account (may be negative on margin). */
  cash: number;
  settings: PlanSettings;
  /** The account's replacement set; empty for none. */
  replacements: ReadonlyArray<Replacement>;
}
