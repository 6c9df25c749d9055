import { PlanError } from "../plan-error.js";
import type { PlanInput } from "../plan-input.js";
import { compareSymbols } from "./compare-symbols.js";
import { isBlank } from "./is-blank.js";

/**
 * Checks the account numbers and settings and returns the holdings sorted by symbol. Throws
 * `PlanError("invalid_input")` naming the value at fault.
 */
export function readHoldings(input: PlanInput): Array<{ symbol: string; quantity: number }> {
  const { netLiquidation, cash, settings } = input;
  if (!Number.isFinite(netLiquidation) || netLiquidation <= 0) {
    throw new PlanError(
      "invalid_input",
      `net liquidation must be a positive number, got ${netLiquidation}`,
    );
  }
  if (!Number.isFinite(cash)) {
    throw new PlanError("invalid_input", `cash must be a finite number, got ${cash}`);
  }
  checkSetting("cashReservePercent", settings.cashReservePercent, 100);
  checkSetting("driftBandPercent", settings.driftBandPercent);
  checkSetting("minOrderValue", settings.minOrderValue);
  checkSetting("maxOrderValue", settings.maxOrderValue);
  checkSetting("maxTurnoverPercent", settings.maxTurnoverPercent);

  for (const { symbol, quantity } of input.holdings) {
    if (isBlank(symbol)) {
      throw new PlanError("invalid_input", `a holding has an empty symbol`);
    }
    if (typeof quantity !== "number" || !Number.isFinite(quantity)) {
      throw new PlanError("invalid_input", `holding of ${symbol} is not a number (${quantity})`);
    }
    // Guessing how to cover a short could double it; a human should close it first.
    if (quantity < 0) {
      throw new PlanError(
        "invalid_input",
        `short holding of ${symbol} (${quantity} shares): the planner does not handle short ` +
          `positions; close it before rebalancing`,
      );
    }
  }
  const holdings = [...input.holdings].sort((a, b) => compareSymbols(a.symbol, b.symbol));
  for (let i = 1; i < holdings.length; i++) {
    // Two lines for one symbol usually mean two contracts; summing them would be a guess.
    if (holdings[i].symbol === holdings[i - 1].symbol) {
      throw new PlanError("invalid_input", `${holdings[i].symbol} is listed twice in the holdings`);
    }
  }
  return holdings;
}

function checkSetting(name: string, value: number, max = Infinity): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max) {
    const range = max === Infinity ? "a finite number >= 0" : `between 0 and ${max}`;
    throw new PlanError("invalid_input", `setting ${name} is ${value}; it must be ${range}`);
  }
}
