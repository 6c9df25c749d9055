// How the planning module represents and rounds money, share counts and weights; decided once,
// here, and used everywhere else in the module.
//
// - Money (prices, values, cash) is a JS number in the account's base currency (1234.56 USD).
//   Order values, the reserve and projected cash are rounded to cents, half away from zero
//   (`roundMoney`; a decimal half such as 1.005, stored a hair below, still rounds up).
//   Prices are used exactly as given and never rounded.
// - Sums of money are taken in integer cents (`sumCents`, `sumMoney`), so that adding 10,000
//   order values accumulates no float error, and cash checks compare whole cents.
// - Share counts are whole numbers (TWS does not take fractional orders for most accounts) and
//   round down (`floorShares`): a plan never buys more than the money pays for nor sells more
//   than the excess. A count within 1e-9 below an integer is that integer, so float noise such as
//   0.7 / 0.1 = 6.999999999999999 still gives 7 shares. A sell is also capped at
//   Math.floor(held), with no such forgiveness: it never exceeds what is held.
// - Weights are fractions (0.25 = 25 %) and are never rounded for planning. Drift is compared
//   with the band in percentage points with 1e-9 points of forgiveness (see size-orders.ts).
//   Where they leave the service (the API's edge) they are rounded to 6 decimal places, half
//   away from zero (`roundWeight`), so float noise such as 0.6000000000000001 never shows.

/** A share count this close below an integer counts as that integer. */
export const SHARE_EPSILON = 1e-9;

/**
 * How far below a half cent, relative to the amount, still counts as the half: an amount written
 * as a decimal half (1.005) is stored a few ulps below it (1.00499999999999989...) and must round
 * as written, to 1.01. A few ulps is all float arithmetic loses on the way here.
 */
const HALF_CENT_SLACK = 4 * Number.EPSILON;

/** Money as a whole number of cents, rounded half away from zero (see `HALF_CENT_SLACK`). */
export function toCents(amount: number): number {
  const cents = Math.abs(amount) * 100;
  const rounded = Math.floor(cents + 0.5 + cents * HALF_CENT_SLACK);
  // Never -0: it prints as "0" but fails strict equality in callers' tests.
  return amount < 0 && rounded !== 0 ? -rounded : rounded;
}

/** Rounds money to cents, half away from zero; 1.005 rounds to 1.01 and -1.005 to -1.01. */
export function roundMoney(amount: number): number {
  return toCents(amount) / 100;
}

/** Sums amounts of money, each rounded to cents, exactly in whole cents. */
export function sumCents(amounts: Iterable<number>): number {
  let cents = 0;
  for (const amount of amounts) cents += toCents(amount);
  return cents;
}

/** Sums amounts of money exactly in cents; the sum is a whole number of cents. */
export function sumMoney(amounts: Iterable<number>): number {
  return sumCents(amounts) / 100;
}

/** Rounds a share count down to a whole number, forgiving float noise within `SHARE_EPSILON`. */
export function floorShares(shares: number): number {
  const whole = Math.floor(shares + SHARE_EPSILON);
  return whole === 0 ? 0 : whole; // no -0
}

/** Whole shares that `amount` of money buys at `price` (rounded down; 0 for amount <= 0). */
export function sharesFor(amount: number, price: number): number {
  if (amount <= 0) return 0;
  return floorShares(amount / price);
}

/** The value of an order or holding: quantity x price, rounded to cents. */
export function valueOf(quantity: number, price: number): number {
  return roundMoney(quantity * price);
}

/** Decimal places a weight keeps at the API's edge: 0.0001 %, far below any drift band. */
const WEIGHT_DECIMALS = 6;

/** Rounds a weight to 6 decimal places, half away from zero: 0.6000000000000001 gives 0.6. */
export function roundWeight(weight: number): number {
  const scale = 10 ** WEIGHT_DECIMALS;
  const rounded = Math.round(Math.abs(weight) * scale) / scale;
  // Never -0, as for money.
  return weight < 0 && rounded !== 0 ? -rounded : rounded;
}
