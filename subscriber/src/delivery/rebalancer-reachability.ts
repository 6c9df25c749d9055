import type { RebalancerStatus } from "../status.js";

/** What deliveries and health probes learnt about reaching the rebalancer. */
export interface RebalancerReachability {
  /** A call got an answer (any answer: a refusal is an answer too). */
  reached(): void;
  /** A call got no answer; `error` says why. */
  unreachable(error: string): void;
  /** A snapshot for /status and the reachability gauge. */
  status(): RebalancerStatus;
}

/** Reachability of the rebalancer at `url`: unknown until the first call. */
export function createRebalancerReachability(url: string): RebalancerReachability {
  const state: RebalancerStatus = { url };
  return {
    reached: () => {
      state.reachable = true;
      state.lastSuccessAt = new Date().toISOString();
    },
    unreachable: (error) => {
      state.reachable = false;
      state.lastError = error;
    },
    status: () => ({ ...state }),
  };
}
