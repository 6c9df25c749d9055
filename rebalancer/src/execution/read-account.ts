import type { Allocations } from "../allocations/allocations.js";
import type { PlanInput, Target } from "../planning/index.js";
import type { RunContext } from "./run-context.js";
import { readPositions } from "./read-positions.js";

/**
 * Reads the account for planning: holdings, values and a price for every symbol held or
 * targeted (`targets`: the account's, after its replacement set), recorded as `accountRead`
 * at its `moment` in the run.
 */
export async function readAccount(
  ctx: RunContext,
  allocations: Allocations,
  targets: readonly Target[],
  moment: "start" | "after sells",
): Promise<PlanInput> {
  const { account } = ctx;
  const { holdings, valued, values, prices } = await readPositions(
    ctx.deps.broker,
    account.accountId,
    targets.map((t) => t.symbol),
  );
  await ctx.record({
    kind: "accountRead",
    moment,
    holdings: valued,
    netLiquidation: values.netLiquidation,
    cash: values.cash,
  });
  // The planner takes the strategy's own targets with the replacement set: it validates them
  // as published (re-applying the set to its own output is not exact in the last bit).
  return {
    targets: allocations.targets,
    holdings: holdings.map((h) => ({ symbol: h.symbol, quantity: h.quantity })),
    prices,
    netLiquidation: values.netLiquidation,
    cash: values.cash,
    settings: account.settings,
    replacements: account.replacements,
  };
}
