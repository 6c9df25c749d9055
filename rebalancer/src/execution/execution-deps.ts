import type { Account } from "@mesh/platform/accounts";
import type { Allocations } from "../allocations/allocations.js";
import type { Broker } from "../broker/broker.js";
import type { RunMetrics } from "../run-metrics.js";

/** What a run does about other clients' open orders; see ExecutionDeps.foreignOpenOrders. */
export type ForeignOpenOrders = "refuse" | "ignore_untraded_symbols";

/** What every run needs besides its account: the adapters and the run-wide settings. */
export interface ExecutionDeps {
  /** The broker orders go to; no default. */
  broker: Broker;
  /** Where an account's target weights come from; no default. */
  allocations: { targets(account: Account): Promise<Allocations> };
  /** The clock, for market hours; no default. */
  now: () => Date;
  /** How long to wait for the account's open orders to be cancelled; default 60 s. */
  cancelTimeoutMs?: number;
  /** How long to wait for a phase's orders to fill; default 5 minutes. */
  fillTimeoutMs?: number;
  /**
   * How long a run that failed waits for its orders still working at the broker to end, so that
   * its final record says how they ended; default 30 s.
   */
  settleTimeoutMs?: number;
  /**
   * Open orders placed by another client (another API client id, or by hand in TWS), which this
   * broker cannot cancel: "refuse" (default) refuses to trade while any is open;
   * "ignore_untraded_symbols" leaves those on symbols the plan does not trade in place and refuses
   * only for the others.
   */
  foreignOpenOrders?: ForeignOpenOrders;
  /**
   * A run that stopped (its process stopped, or its broker link dropped) is resumed only if it was
   * accepted less than this long ago; an older one ends as `resume_expired`, placing nothing
   * more. Default 30 minutes.
   */
  resumeMaxAgeMs?: number;
  /**
   * How long a run whose broker link dropped waits for it to come back: back in time, the run
   * is resumed (reconciled with the broker, then continued); otherwise, or with 0, it fails as
   * `broker_unavailable`, placing nothing more. Default 2 minutes.
   */
  reconnectWindowMs?: number;
  /** Counts orders by side and outcome; default counts nothing. */
  metrics?: RunMetrics;
}
