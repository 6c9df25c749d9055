import type { RunProgress } from "../execution/run-progress.js";
import type { RunState } from "./run-state.js";

/** Where a run stands for execution, from its folded journal: what it resumes from. */
export function runProgressOf(state: RunState): RunProgress {
  const { plan, allocations } = state;
  // A run stopped while resuming stood where it was before.
  const phase = state.stoodIn;
  return {
    ...(phase ? { phase } : {}),
    ...(allocations ? { allocations } : {}),
    ...(plan && state.planChecked
      ? { plan: { sells: plan.sells, buys: plan.buys, preflight: plan.preflight } }
      : {}),
    orders: [...state.orders.values()],
    fillIds: [...state.fillIds],
  };
}
