import type { PlannedOrder } from "../planning/index.js";
import { RunFailure } from "./run-failure.js";

/** Whole shares one order can carry in the contract (uint32). */
const maxOrderShares = 4_294_967_295;

/** Fails the run on an order beyond what the contract can carry, before anything is placed. */
export function checkOrderSizes(orders: readonly PlannedOrder[]): void {
  for (const o of orders) {
    if (o.quantity > maxOrderShares) {
      throw new RunFailure(
        "internal",
        `cannot plan: ${o.side} of ${o.quantity} ${o.symbol} is more shares than one order can ` +
          `carry (${maxOrderShares}); check the price of ${o.symbol} (${o.price})`,
      );
    }
  }
}
