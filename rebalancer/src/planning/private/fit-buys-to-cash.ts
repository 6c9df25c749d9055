import { floorShares, sumCents, toCents, valueOf } from "../money.js";
import type { PlannedOrder } from "../planned-order.js";
import { compareSymbols } from "./compare-symbols.js";
import { formatMoney, formatPercent } from "./format.js";

/** The buys that fit, and what was changed to make them fit. */
export interface FittedBuys {
  buys: PlannedOrder[];
  warnings: string[];
}

/**
 * Makes the buys fit the cash available. When they cost more, every buy is scaled by the same
 * ratio and rounded down to whole shares; the cash that rounding frees buys back single shares,
 * largest shortfall first, never above what a buy wanted. Buys left at 0 shares or under the
 * minimum order value are dropped. `available` says where the cash came from, for the warning.
 */
export function fitBuysToCash(
  buys: ReadonlyArray<PlannedOrder>,
  availableCents: number,
  minOrderValue: number,
  available: string,
): FittedBuys {
  const totalCents = valuesCents(buys);
  if (totalCents <= availableCents) return { buys: [...buys], warnings: [] };
  if (availableCents <= 0) {
    return {
      buys: [],
      warnings: [`no cash left for buys (${available}); ${buys.length} buy(s) dropped`],
    };
  }

  const ratio = availableCents / totalCents;
  const scaled = buys.map((buy) => resize(buy, floorShares(buy.quantity * ratio)));
  topUp(scaled, buys, availableCents);
  trimOvershoot(scaled, availableCents);

  const kept: PlannedOrder[] = [];
  const dropped: string[] = [];
  scaled.forEach((buy, index) => {
    if (buy.quantity === 0 || buy.value < minOrderValue) {
      dropped.push(buy.symbol);
      return;
    }
    const wanted = buys[index].quantity;
    kept.push(
      buy.quantity === wanted
        ? buy
        : { ...buy, reason: `${buy.reason}; scaled down from ${wanted} shares to fit the cash` },
    );
  });
  const warnings = [
    `buys cost ${formatMoney(totalCents / 100)} but only ${available}: ` +
      `scaled to ${formatPercent(ratio)} and rounded to whole shares`,
  ];
  if (dropped.length > 0) {
    warnings.push(
      `after scaling, buys of ${dropped.join(", ")} fell to 0 shares or under the minimum ` +
        `order value and were dropped`,
    );
  }
  return { buys: kept, warnings };
}

/**
 * Rounding every scaled buy down can leave up to a share's price per buy unspent: hand it back,
 * as many shares as fit, to the buys that lost the most value. One pass after one sort.
 */
function topUp(
  scaled: PlannedOrder[],
  wanted: ReadonlyArray<PlannedOrder>,
  availableCents: number,
): void {
  let left = availableCents - valuesCents(scaled);
  const shortfall = (index: number) => wanted[index].value - scaled[index].value;
  const largestShortfallFirst = scaled
    .map((_buy, index) => index)
    .sort(
      (a, b) => shortfall(b) - shortfall(a) || compareSymbols(scaled[a].symbol, scaled[b].symbol),
    );
  for (const index of largestShortfallFirst) {
    const buy = scaled[index];
    const priceCents = buy.price * 100;
    if (priceCents > left) continue;
    let shares = Math.min(wanted[index].quantity - buy.quantity, Math.floor(left / priceCents));
    // Cent rounding may make the last share cost a cent more than the division said.
    while (shares > 0) {
      const bigger = resize(buy, buy.quantity + shares);
      const cost = toCents(bigger.value) - toCents(buy.value);
      if (cost <= left) {
        scaled[index] = bigger;
        left -= cost;
        break;
      }
      shares -= 1;
    }
  }
}

/**
 * Cent rounding of each order's value can still push the total a few cents over: take shares
 * off the largest orders until it fits. Sorting once keeps this O(n log n).
 */
function trimOvershoot(buys: PlannedOrder[], availableCents: number): void {
  let excess = valuesCents(buys) - availableCents;
  if (excess <= 0) return;
  const largestFirst = buys
    .map((_buy, index) => index)
    .sort(
      (a, b) => buys[b].value - buys[a].value || compareSymbols(buys[a].symbol, buys[b].symbol),
    );
  for (const index of largestFirst) {
    while (excess > 0 && buys[index].quantity > 0) {
      const buy = buys[index];
      const shares = Math.min(buy.quantity, Math.max(1, Math.ceil(excess / (buy.price * 100))));
      const smaller = resize(buy, buy.quantity - shares);
      excess -= toCents(buy.value) - toCents(smaller.value);
      buys[index] = smaller;
    }
    if (excess <= 0) return;
  }
}

function resize(buy: PlannedOrder, quantity: number): PlannedOrder {
  return { ...buy, quantity, value: valueOf(quantity, buy.price) };
}

function valuesCents(orders: ReadonlyArray<PlannedOrder>): number {
  return sumCents(orders.map((order) => order.value));
}
