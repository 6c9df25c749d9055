import type { RunContext } from "./run-context.js";
import type { RunOrders } from "./run-orders.js";

/** What placing and waiting for orders works with: the run, and its orders as recorded. */
export interface TradeContext extends RunContext {
  /** The run's orders: placements recorded first, then what the broker tells of them. */
  orders: RunOrders;
}
