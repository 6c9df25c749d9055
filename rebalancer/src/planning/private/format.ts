// How numbers appear in warnings, reasons and error messages.

/** A fraction as a percentage with two decimals: 0.1234 -> "12.34%". */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** Money with two decimals: 1234.5 -> "1234.50". */
export function formatMoney(amount: number): string {
  return amount.toFixed(2);
}
