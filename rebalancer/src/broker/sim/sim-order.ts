import type { BrokerOrder, OrderRequest } from "../broker.js";

/**
 * An order as the simulated broker keeps it: what the broker reports, what was asked, and the
 * fills still to come. Everything here is saved, so a restarted broker carries on where it stood.
 */
export interface SimOrder {
  order: BrokerOrder;
  request: OrderRequest;
  /** Shares of each fill, in order; the next one is `parts[fills]`. */
  parts: number[];
  /** Fills so far. */
  fills: number;
  /**
   * When its next step (submission, or the next fill) is due, in ms since the epoch on the
   * broker's clock. Undefined when nothing is scheduled: it ended, or it never fills.
   */
  dueAt?: number;
}
