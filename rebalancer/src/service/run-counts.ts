import { create } from "@bufbuild/protobuf";
import {
  OrderStatus,
  RunCountsSchema,
  type Run,
  type RunCounts,
} from "@mesh/proto/rebalancer/v1/rebalancer";

/** How many orders a run planned, placed and saw filled, from its record. */
export function runCounts(run: Run): RunCounts {
  return create(RunCountsSchema, {
    plannedOrders: run.plan?.orders.length ?? 0,
    placedOrders: run.orders.length,
    filledOrders: run.orders.filter((order) => order.status === OrderStatus.FILLED).length,
  });
}
