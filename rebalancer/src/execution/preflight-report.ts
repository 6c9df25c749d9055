import type { PreflightCheck } from "../broker/broker.js";
import type { PlannedOrder } from "../planning/index.js";

/** The broker's answer for one planned order. */
export type PreflightResult = Pick<PlannedOrder, "symbol" | "side" | "quantity"> & PreflightCheck;

/** What the preflight found: every planned order checked with the broker, or why it was not. */
export interface PreflightReport {
  /** False when the preflight was skipped (off for the account, or the broker cannot check). */
  checked: boolean;
  /** Why it was skipped; "" when checked. */
  skippedReason: string;
  /** One per planned order, sells first, as planned; empty when skipped. */
  results: PreflightResult[];
  /** The broker's available funds at the check; 0 when skipped. */
  availableFunds: number;
  /** Funds left for the buys after the sells and the reserve; 0 unless every order was accepted. */
  fundsForBuys: number;
  /** What the buys need by the broker's what-if margins and commissions; 0 likewise. */
  buysRequired: number;
  /** True when the buys were scaled down to fundsForBuys. */
  buysScaled: boolean;
}
