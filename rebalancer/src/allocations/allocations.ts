/** One target: a symbol and the fraction of the account it should be, in [0, 1]. */
export interface AllocationTarget {
  symbol: string;
  weight: number;
}

/** A strategy's target weights as published by its source. */
export interface Allocations {
  /** The account's strategy these targets are for. */
  strategy: string;
  /** In the source's order; symbols are unique and upper-case; weights sum to at most 1. */
  targets: AllocationTarget[];
  /** The source's `as_of` (or `last_rebalance_on`) date, "" if not given. */
  asOf: string;
}
