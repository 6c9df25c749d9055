/**
 * A symbol's weight before and after a plan. All three are fractions of net liquidation; `target`
 * is the effective target weight x (1 - cashReservePercent / 100), so that a fully invested
 * account's weights plus its cash add up to 1.
 */
export interface ProjectedWeight {
  symbol: string;
  current: number;
  target: number;
  projected: number;
}
