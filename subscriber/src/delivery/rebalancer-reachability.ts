import type { RebalancerStatus } from "../status.js";

/** Which call taught what: a health probe (ListAccounts) or a delivery. */
export type CallKind = "probe" | "delivery";

/** What deliveries and health probes learnt about reaching the rebalancer. */
export interface RebalancerReachability {
  /**
   * A call got an answer that was not a refusal of the caller (a success, or a refusal of the
   * request itself). A probe's answer does not clear a refusal a delivery met: with the
   * rebalancer's open reads, the probe needs no key while deliveries do.
   */
  reached(via: CallKind): void;
  /** The rebalancer refused the caller (Unauthenticated, PermissionDenied); `error` says why. */
  refused(error: string, via: CallKind): void;
  /** A call got no answer; `error` says why. */
  unreachable(error: string): void;
  /** Forgets a refusal (the API key was replaced): the next answer says again. */
  keyChanged(): void;
  /** A snapshot for /status, health and the reachability gauge. */
  status(): RebalancerStatus;
}

/** Reachability of the rebalancer at `url`: unknown until the first call. */
export function createRebalancerReachability(url: string): RebalancerReachability {
  const state: RebalancerStatus = { url };
  let refusedVia: CallKind | undefined;
  return {
    reached: (via) => {
      state.reachable = true;
      state.lastSuccessAt = new Date().toISOString();
      if (refusedVia === undefined || via === "delivery" || refusedVia === "probe") {
        state.authorized = true;
        refusedVia = undefined;
      }
    },
    refused: (error, via) => {
      state.reachable = true;
      state.authorized = false;
      state.lastError = error;
      refusedVia = via;
    },
    unreachable: (error) => {
      state.reachable = false;
      state.lastError = error;
    },
    keyChanged: () => {
      delete state.authorized;
      refusedVia = undefined;
    },
    status: () => ({ ...state }),
  };
}
