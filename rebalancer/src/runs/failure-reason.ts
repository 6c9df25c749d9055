import { FailureReason } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { FailureCode } from "../execution/failure-code.js";

/** The failure table: each domain reason a run can fail for, as the contract says it. */
const reasons: Record<FailureCode, FailureReason> = {
  allocations_unavailable: FailureReason.ALLOCATIONS_UNAVAILABLE,
  invalid_allocations: FailureReason.INVALID_ALLOCATIONS,
  broker_unavailable: FailureReason.BROKER_UNAVAILABLE,
  missing_price: FailureReason.MISSING_PRICE,
  risk_limit: FailureReason.RISK_LIMIT,
  open_orders_not_cancelled: FailureReason.OPEN_ORDERS_NOT_CANCELLED,
  order_rejected: FailureReason.ORDER_REJECTED,
  order_timeout: FailureReason.ORDER_TIMEOUT,
  preflight_refused: FailureReason.PREFLIGHT_REFUSED,
  interrupted: FailureReason.INTERRUPTED,
  live_guard: FailureReason.LIVE_GUARD,
  market_closed: FailureReason.MARKET_CLOSED,
  resume_expired: FailureReason.RESUME_EXPIRED,
  internal: FailureReason.INTERNAL,
};

/** The contract's FailureReason for a domain reason. */
export function failureReason(code: FailureCode): FailureReason {
  return reasons[code];
}
