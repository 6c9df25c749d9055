// Test support for the planning specs: inputs with neutral defaults, and catching refusals.
import { PlanError } from "../plan-error.js";
import type { PlanInput } from "../plan-input.js";
import type { PlanSettings } from "../plan-settings.js";

/** Settings that change nothing: no reserve, no band, no minimum, no caps. */
export const NEUTRAL_SETTINGS: PlanSettings = {
  cashReservePercent: 0,
  driftBandPercent: 0,
  minOrderValue: 0,
  maxOrderValue: 0,
  maxTurnoverPercent: 0,
};

type Overrides = Partial<Omit<PlanInput, "prices" | "settings">> & {
  prices?: Record<string, number>;
  settings?: Partial<PlanSettings>;
};

/** An account of 10,000.00 in cash with the given overrides; prices as a plain object. */
export function testInput(overrides: Overrides = {}): PlanInput {
  const { prices = {}, settings = {}, ...rest } = overrides;
  return {
    targets: [],
    holdings: [],
    netLiquidation: 10_000,
    cash: 10_000,
    replacements: [],
    ...rest,
    prices: new Map(Object.entries(prices)),
    settings: { ...NEUTRAL_SETTINGS, ...settings },
  };
}

/** Returns the PlanError that `run` throws; fails when it throws nothing or another error. */
export function refusal(run: () => unknown): PlanError {
  try {
    run();
  } catch (error) {
    if (error instanceof PlanError) return error;
    throw error;
  }
  throw new Error("expected a PlanError, but nothing was thrown");
}
