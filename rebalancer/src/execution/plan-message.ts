import { create } from "@bufbuild/protobuf";
import {
  FailureReason,
  PlanSchema,
  PlannedOrderSchema,
  ProjectedWeightSchema,
  type Plan as PlanMessage,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Plan, PlannedOrder } from "../planning/index.js";
import { sideMessage } from "./broker-messages.js";
import { RunFailure } from "./run-failure.js";

/** Whole shares one order can carry in the contract (uint32). */
const maxOrderShares = 4_294_967_295;

/** Fails the run on an order beyond what the contract can carry, before anything is placed. */
export function checkOrderSizes(orders: readonly PlannedOrder[]): void {
  for (const o of orders) {
    if (o.quantity > maxOrderShares) {
      throw new RunFailure(
        FailureReason.INTERNAL,
        `cannot plan: ${o.side} of ${o.quantity} ${o.symbol} is more shares than one order can ` +
          `carry (${maxOrderShares}); check the price of ${o.symbol} (${o.price})`,
      );
    }
  }
}

/** The contract's form of a plan. */
export function planMessage(planned: Plan): PlanMessage {
  checkOrderSizes([...planned.sells, ...planned.buys]);
  const order = (o: PlannedOrder) =>
    create(PlannedOrderSchema, {
      symbol: o.symbol,
      side: sideMessage(o.side),
      quantity: o.quantity,
      price: o.price,
      marketValue: o.value,
      reason: o.reason,
    });
  return create(PlanSchema, {
    orders: [...planned.sells.map(order), ...planned.buys.map(order)],
    weights: planned.weights.map((w) =>
      create(ProjectedWeightSchema, {
        symbol: w.symbol,
        currentWeight: w.current,
        targetWeight: w.target,
        projectedWeight: w.projected,
      }),
    ),
    projectedCash: planned.projectedCash,
    reservedCash: planned.reservedCash,
    warnings: [...planned.warnings],
  });
}
