import { sharesFor, valueOf } from "../money.js";
import { PlanError } from "../plan-error.js";
import type { PlanSettings } from "../plan-settings.js";
import type { PlannedOrder } from "../planned-order.js";
import { formatMoney, formatPercent } from "./format.js";
import type { Position } from "./position.js";

/**
 * Float noise forgiven when comparing a drift with the band, in percentage points, so that a
 * drift exactly on the band (|0.48 - 0.5| x 100 = 2.0000000000000018) counts as within it.
 */
const BAND_EPSILON = 1e-9;

/** What `sizeOrders` needs besides the positions. */
export interface SizingContext {
  netLiquidation: number;
  /** Net liquidation minus the reserve: the money the target weights apply to. */
  investable: number;
  settings: PlanSettings;
  /** False for a buys-only plan: nothing is sold, not even holdings outside the targets. */
  withSells: boolean;
}

/** The orders each position wants on its own, before the cash check and the risk caps. */
export interface SizedOrders {
  sells: PlannedOrder[];
  buys: PlannedOrder[];
  warnings: string[];
}

/**
 * Sizes one order per position that must trade, in the order of `positions`.
 *
 * Target value = weight x investable; the order is the difference from the market value held,
 * in whole shares rounded down. Holdings outside the targets (or with target weight 0) are sold
 * in full, whatever the band and the minimum. Otherwise a symbol within the drift band, or whose
 * order is worth less than the minimum, is left alone with a warning.
 */
export function sizeOrders(
  positions: ReadonlyArray<Position>,
  context: SizingContext,
): SizedOrders {
  const { netLiquidation, investable, settings, withSells } = context;
  const sells: PlannedOrder[] = [];
  const buys: PlannedOrder[] = [];
  const warnings: string[] = [];

  for (const { symbol, held, price, weight } of positions) {
    if (weight === undefined || weight === 0) {
      if (held === 0 || !withSells) continue;
      const why = weight === undefined ? "not in targets" : "target weight 0";
      if (price === undefined) {
        throw new PlanError(
          "missing_price",
          `no price for ${symbol}: the ${held} shares held must be sold (${why})`,
        );
      }
      // TWS takes whole shares only: a fractional remainder stays (never sell more than held).
      const quantity = Math.floor(held);
      if (quantity < held) {
        // toFixed then Number: 10.3 - 10 reads 0.3, not 0.3000000000000007.
        const fraction = Number((held - quantity).toFixed(6));
        warnings.push(
          `${symbol}: ${fraction} fractional share(s) stay held; only whole shares can be sold`,
        );
      }
      if (quantity > 0) sells.push(order(symbol, "sell", quantity, price, `${why}: sell all`));
      continue;
    }

    if (held > 0 && price === undefined) {
      throw new PlanError(
        "missing_price",
        `no price for ${symbol}: needed to value the ${held} shares held`,
      );
    }
    const currentValue = held > 0 ? held * (price as number) : 0;
    const targetValue = weight * investable;
    const gap = targetValue - currentValue;
    if (gap === 0 || (gap < 0 && !withSells)) continue;

    const current = currentValue / netLiquidation;
    const target = targetValue / netLiquidation;
    const withinBand = Math.abs(current - target) * 100 <= settings.driftBandPercent + BAND_EPSILON;

    if (price === undefined) {
      // Nothing held: the band and the minimum can be judged without a price.
      if (withinBand) {
        warnings.push(bandWarning(symbol, current, target, settings.driftBandPercent));
      } else if (gap < settings.minOrderValue) {
        warnings.push(
          `${symbol}: buying ${formatMoney(gap)} is below the minimum order value ` +
            `${formatMoney(settings.minOrderValue)}; left alone`,
        );
      } else {
        throw new PlanError(
          "missing_price",
          `no price for ${symbol}: needed to buy toward its target of ${formatPercent(target)}`,
        );
      }
      continue;
    }

    const side = gap > 0 ? "buy" : "sell";
    let quantity = sharesFor(Math.abs(gap), price);
    if (side === "sell") quantity = Math.min(quantity, Math.floor(held));
    if (quantity === 0) {
      if (held === 0) {
        warnings.push(
          `${symbol}: its target value ${formatMoney(targetValue)} is less than one share at ` +
            `${price}; not bought`,
        );
      }
      continue;
    }
    if (withinBand) {
      warnings.push(bandWarning(symbol, current, target, settings.driftBandPercent));
      continue;
    }
    const value = valueOf(quantity, price);
    if (value < settings.minOrderValue) {
      warnings.push(
        `${symbol}: ${side} of ${quantity} shares worth ${formatMoney(value)} is below the ` +
          `minimum order value ${formatMoney(settings.minOrderValue)}; left alone`,
      );
      continue;
    }
    const reason =
      `${side === "buy" ? "below" : "above"} target: ${formatPercent(current)} vs ` +
      `${formatPercent(target)} of net liquidation`;
    (side === "buy" ? buys : sells).push(order(symbol, side, quantity, price, reason));
  }
  return { sells, buys, warnings };
}

// Built only when used: formatting for every symbol costs more than the sizing itself.
function bandWarning(symbol: string, current: number, target: number, band: number): string {
  return (
    `${symbol}: within the drift band (${formatPercent(current)} vs target ` +
    `${formatPercent(target)}, band ${band} points); left alone`
  );
}

function order(
  symbol: string,
  side: "buy" | "sell",
  quantity: number,
  price: number,
  reason: string,
): PlannedOrder {
  return { symbol, side, quantity, price, value: valueOf(quantity, price), reason };
}
