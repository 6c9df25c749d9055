/** One symbol the plan looks at: held, targeted, or both. */
export interface Position {
  symbol: string;
  /** Shares held, >= 0 (0 when only targeted). */
  held: number;
  /** Positive market price, or undefined when none was given (or it was <= 0, NaN). */
  price: number | undefined;
  /** Effective target weight, or undefined when the symbol is not among the targets. */
  weight: number | undefined;
}
