import { applyReplacements } from "../apply-replacements.js";
import { roundMoney, sumCents, toCents } from "../money.js";
import type { Plan } from "../plan-result.js";
import type { PlanInput } from "../plan-input.js";
import type { PlannedOrder } from "../planned-order.js";
import type { ProjectedWeight } from "../projected-weight.js";
import { checkRiskLimits } from "./check-risk-limits.js";
import { compareSymbols } from "./compare-symbols.js";
import { fitBuysToCash } from "./fit-buys-to-cash.js";
import { formatMoney } from "./format.js";
import type { Position } from "./position.js";
import { readHoldings } from "./read-holdings.js";
import { sizeOrders } from "./size-orders.js";

/** Builds a full plan (`withSells`) or a buys-only plan; see `plan` and `planBuys`. */
export function composePlan(input: PlanInput, withSells: boolean): Plan {
  const holdings = readHoldings(input);
  const targets = applyReplacements(input.targets, input.replacements);
  const { netLiquidation, cash, settings } = input;

  // The reserve comes off net liquidation first; the weights apply to what is left.
  const reservedCash = roundMoney((netLiquidation * settings.cashReservePercent) / 100);
  const investable = netLiquidation - reservedCash;

  const positions = readPositions(holdings, targets, input.prices);
  const sized = sizeOrders(positions, { netLiquidation, investable, settings, withSells });

  const proceedsCents = sumCents(sized.sells.map((sell) => sell.value));
  const availableCents = toCents(cash) + proceedsCents - toCents(reservedCash);
  const available =
    `${formatMoney(availableCents / 100)} available = cash ${formatMoney(cash)}` +
    (withSells ? ` + sells ${formatMoney(proceedsCents / 100)}` : "") +
    ` - reserve ${formatMoney(reservedCash)}`;
  const fitted = fitBuysToCash(sized.buys, availableCents, settings.minOrderValue, available);

  checkRiskLimits([...sized.sells, ...fitted.buys], netLiquidation, settings);

  const warnings = [...sized.warnings, ...fitted.warnings];
  const projectedCash =
    (toCents(cash) + proceedsCents - sumCents(fitted.buys.map((buy) => buy.value))) / 100;
  return {
    sells: sized.sells,
    buys: fitted.buys,
    targets,
    weights: projectWeights(
      positions,
      sized.sells,
      fitted.buys,
      netLiquidation,
      investable,
      warnings,
    ),
    projectedCash,
    reservedCash,
    warnings,
  };
}

/**
 * Every symbol held (quantity > 0) or targeted, sorted by symbol: a merge of the two sorted
 * lists, which is linear and allocates far less than maps of 10,000 symbols.
 */
function readPositions(
  holdings: ReadonlyArray<{ symbol: string; quantity: number }>,
  targets: ReadonlyArray<{ symbol: string; weight: number }>,
  prices: ReadonlyMap<string, number>,
): Position[] {
  const positions: Position[] = [];
  const add = (symbol: string, held: number, weight: number | undefined) => {
    const price = prices.get(symbol);
    const usable = price !== undefined && Number.isFinite(price) && price > 0;
    positions.push({ symbol, held, price: usable ? price : undefined, weight });
  };
  let h = 0;
  let t = 0;
  while (h < holdings.length || t < targets.length) {
    const holding = holdings[h];
    const target = targets[t];
    const order =
      holding === undefined
        ? 1
        : target === undefined
          ? -1
          : compareSymbols(holding.symbol, target.symbol);
    if (order < 0) {
      if (holding.quantity > 0) add(holding.symbol, holding.quantity, undefined);
      h += 1;
    } else if (order > 0) {
      add(target.symbol, 0, target.weight);
      t += 1;
    } else {
      add(target.symbol, holding.quantity, target.weight);
      h += 1;
      t += 1;
    }
  }
  return positions;
}

/**
 * Weights before and after every order fills, as fractions of net liquidation; the target is
 * scaled by the investable share so that it compares with the other two. Positions, sells and
 * buys are all sorted by symbol, so one walk pairs them.
 */
function projectWeights(
  positions: ReadonlyArray<Position>,
  sells: ReadonlyArray<PlannedOrder>,
  buys: ReadonlyArray<PlannedOrder>,
  netLiquidation: number,
  investable: number,
  warnings: string[],
): ProjectedWeight[] {
  let s = 0;
  let b = 0;
  return positions.map(({ symbol, held, price, weight }) => {
    let after = held;
    if (sells[s]?.symbol === symbol) after -= sells[s++].quantity;
    if (buys[b]?.symbol === symbol) after += buys[b++].quantity;
    // Only a buys-only plan gets here without a price: an untouched holding outside the targets.
    if (price === undefined && held > 0) {
      warnings.push(`${symbol}: no price, so its weight is unknown (reported as NaN)`);
    }
    return {
      symbol,
      current: weightOf(held, price, netLiquidation),
      target: ((weight ?? 0) * investable) / netLiquidation,
      projected: weightOf(after, price, netLiquidation),
    };
  });
}

/** Value over net liquidation; unknown (NaN) for shares held without a price. */
function weightOf(quantity: number, price: number | undefined, netLiquidation: number): number {
  if (quantity === 0) return 0;
  return price === undefined ? NaN : (quantity * price) / netLiquidation;
}
