/** A holding valued at the market price (never at cost), as a run and GetPositions show it. */
export interface ValuedHolding {
  symbol: string;
  /** Shares held; may be fractional as reported. */
  quantity: number;
  /** Market price used; 0 when the broker had none. */
  price: number;
  /** quantity x price, rounded to cents. */
  marketValue: number;
  /** marketValue / net liquidation; 0 when net liquidation is not positive. */
  weight: number;
  /** For information only. */
  averageCost: number;
  currency: string;
}
