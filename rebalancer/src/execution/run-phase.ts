/** The steps of a run, in the order a live run goes through them. */
export type RunPhase =
  | "fetching_allocations"
  | "reading_account"
  | "planning"
  | "checking_hours"
  | "preflight"
  | "cancelling_open_orders"
  | "selling"
  | "refreshing_cash"
  | "buying"
  /** Taking the run up again after it stopped: reconciling with the broker, waiting for its working orders. */
  | "resuming";
