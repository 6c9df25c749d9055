/** One target weight: a fraction of the investable value (net liquidation minus the reserve). */
export interface Target {
  symbol: string;
  /** In [0, 1]. */
  weight: number;
}
