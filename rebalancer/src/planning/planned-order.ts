/** One order of a plan. */
export interface PlannedOrder {
  symbol: string;
  side: "buy" | "sell";
  /** Whole shares, > 0. */
  quantity: number;
  /** The market price the order was sized with. */
  price: number;
  /** quantity x price, rounded to cents. */
  value: number;
  /** Why the order is in the plan, e.g. "above target: 31.00% vs 25.00% of net liquidation". */
  reason: string;
}
