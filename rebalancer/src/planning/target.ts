/** One target weight: the fraction of the investable account (net liquidation minus the reserve). */
export interface Target {
  symbol: string;
  /** In [0, 1]. */
  weight: number;
}
