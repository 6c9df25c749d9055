/** Why a run failed, for machines: each has one FailureReason in the contract (runs/). */
export type FailureCode =
  | "allocations_unavailable"
  | "invalid_allocations"
  | "broker_unavailable"
  | "missing_price"
  | "risk_limit"
  | "open_orders_not_cancelled"
  | "order_rejected"
  | "order_timeout"
  | "preflight_refused"
  | "interrupted"
  /** A resumed run's account is now disabled, gone, or of another type than TRADING_MODE. */
  | "live_guard"
  /** A resumed run still had to trade a symbol whose market is now closed. */
  | "market_closed"
  /** A run that stopped is older than the resume limit (RUN_RESUME_MAX_AGE). */
  | "resume_expired"
  | "internal";
