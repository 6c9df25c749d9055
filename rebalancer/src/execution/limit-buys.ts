import { roundMoney, type PlannedOrder } from "../planning/index.js";

/**
 * Caps the buys re-planned after the sells to those the preflight approved: a symbol it did not
 * approve is not bought, and no buy grows beyond its approved quantity.
 */
export function limitBuys(
  replanned: readonly PlannedOrder[],
  approved: readonly PlannedOrder[],
): PlannedOrder[] {
  const caps = new Map(approved.map((b) => [b.symbol, b.quantity]));
  return replanned.flatMap((b) => {
    const cap = caps.get(b.symbol) ?? 0;
    if (cap === 0) return [];
    return b.quantity <= cap ? [b] : [{ ...b, quantity: cap, value: roundMoney(cap * b.price) }];
  });
}
