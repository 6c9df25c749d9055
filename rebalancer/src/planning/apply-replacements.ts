import type { Replacement } from "./replacement.js";
import { PlanError } from "./plan-error.js";
import type { Target } from "./target.js";
import { compareSymbols } from "./private/compare-symbols.js";
import { isBlank } from "./private/is-blank.js";

/** Weights may sum above 1 by this much (allocation APIs round, e.g. to 1.001). */
export const WEIGHT_SUM_TOLERANCE = 0.005;

/**
 * Validates the strategy's targets and turns them into the targets this account trades:
 *
 * - a source symbol of the replacement set is traded as its target symbol with weight x scale
 *   (applied once, not transitively: A->B and B->C trade A as B);
 * - duplicates merge by summing their weights;
 * - if the result sums above 1, the weights that did not come from a replacement shrink
 *   proportionally to absorb the excess, so the replaced weights are held as configured;
 * - the result is sorted by symbol (code-unit order, independent of locale) and does not depend
 *   on the order of the input.
 *
 * Throws `PlanError("invalid_targets")` for an empty list, an empty symbol, a weight outside
 * [0, 1] or not a number, a sum above 1 + 0.005, or replaced weights that alone sum above that;
 * `PlanError("invalid_input")` for a malformed replacement or one source replaced two ways.
 */
export function applyReplacements(
  targets: ReadonlyArray<Target>,
  replacements: ReadonlyArray<Replacement>,
): Target[] {
  checkTargets(targets);
  checkSum(targets);
  const bySource = indexReplacements(replacements);

  // Weights that came from a replacement are "fixed"; the others absorb any excess above 1.
  const parts = targets.map(({ symbol, weight }) => {
    const replacement = bySource.get(symbol);
    return replacement === undefined
      ? { symbol, weight, fixed: false }
      : { symbol: replacement.target, weight: weight * replacement.scale, fixed: true };
  });
  // Sorted so that float sums, and so the result, do not depend on the input's order; it also
  // puts duplicates side by side for merging.
  parts.sort(
    (a, b) =>
      compareSymbols(a.symbol, b.symbol) ||
      a.weight - b.weight ||
      Number(a.fixed) - Number(b.fixed),
  );
  let fixedSum = 0;
  let freeSum = 0;
  for (const part of parts) {
    if (part.fixed) fixedSum += part.weight;
    else freeSum += part.weight;
  }
  if (fixedSum + freeSum > 1) {
    if (fixedSum <= 1) {
      const shrink = freeSum > 0 ? (1 - fixedSum) / freeSum : 0;
      for (const part of parts) if (!part.fixed) part.weight *= shrink;
    } else if (fixedSum <= 1 + WEIGHT_SUM_TOLERANCE) {
      // Only rounding put the replaced weights above 1: bring them to 1, nothing else is left.
      for (const part of parts) part.weight = part.fixed ? part.weight / fixedSum : 0;
    } else {
      throw new PlanError(
        "invalid_targets",
        `replaced weights alone sum to ${fixedSum}, above 1: ` +
          `the replacement scales leave no room for the other targets`,
      );
    }
  }

  const merged: Target[] = [];
  for (const { symbol, weight } of parts) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.symbol === symbol) last.weight += weight;
    else merged.push({ symbol, weight });
  }
  return merged;
}

function checkTargets(targets: ReadonlyArray<Target>): void {
  // An empty list is far more likely a broken allocation feed than "sell everything".
  if (targets.length === 0) {
    throw new PlanError(
      "invalid_targets",
      "no targets: refusing to plan (an empty allocation would liquidate the account); " +
        "send explicit 0 weights to go to cash",
    );
  }
  targets.forEach(({ symbol, weight }, index) => {
    if (isBlank(symbol)) {
      throw new PlanError("invalid_targets", `target #${index + 1} has an empty symbol`);
    }
    if (typeof weight !== "number" || Number.isNaN(weight)) {
      throw new PlanError("invalid_targets", `weight of ${symbol} is not a number (${weight})`);
    }
    if (weight < 0 || weight > 1) {
      throw new PlanError("invalid_targets", `weight of ${symbol} is ${weight}, outside [0, 1]`);
    }
  });
}

function checkSum(targets: ReadonlyArray<Target>): void {
  // Summed in ascending order, so that the verdict does not depend on the input's order.
  const weights = new Float64Array(targets.length);
  targets.forEach((target, index) => (weights[index] = target.weight));
  weights.sort();
  let sum = 0;
  for (const weight of weights) sum += weight;
  if (sum > 1 + WEIGHT_SUM_TOLERANCE) {
    throw new PlanError(
      "invalid_targets",
      `target weights sum to ${sum}, above 1 (tolerance ${WEIGHT_SUM_TOLERANCE})`,
    );
  }
}

function indexReplacements(replacements: ReadonlyArray<Replacement>): Map<string, Replacement> {
  const bySource = new Map<string, Replacement>();
  for (const replacement of replacements) {
    const { source, target, scale } = replacement;
    if (isBlank(source)) {
      throw new PlanError("invalid_input", `a replacement has an empty source symbol`);
    }
    if (isBlank(target)) {
      throw new PlanError("invalid_input", `the replacement of ${source} has an empty target`);
    }
    if (typeof scale !== "number" || !Number.isFinite(scale) || scale < 0) {
      throw new PlanError(
        "invalid_input",
        `the replacement ${source} -> ${target} has scale ${scale}; it must be a number >= 0`,
      );
    }
    const earlier = bySource.get(source);
    if (earlier !== undefined && (earlier.target !== target || earlier.scale !== scale)) {
      throw new PlanError(
        "invalid_input",
        `${source} is replaced two ways: by ${earlier.target} x${earlier.scale} ` +
          `and by ${target} x${scale}`,
      );
    }
    bySource.set(source, replacement);
  }
  return bySource;
}
