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
  | "internal";
