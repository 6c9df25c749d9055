import { create } from "@bufbuild/protobuf";
import {
  FillSchema,
  OrderSchema,
  OrderStatus,
  RebalanceResponseSchema,
  RunSchema,
  type Order,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { foldOrderEvents, isOrderEvent } from "./fold-order-events.js";

const order = (status: OrderStatus, filledQuantity: number): Order =>
  create(OrderSchema, { orderId: "7", symbol: "SPY", quantity: 630, status, filledQuantity });
const updated = (o: Order): RebalanceResponse =>
  create(RebalanceResponseSchema, { event: { case: "orderUpdated", value: { order: o } } });

describe("folding order events into a run's record", () => {
  it("keeps an order's latest state and never takes it back (FILLED 630 stays FILLED 630)", () => {
    const run = foldOrderEvents(create(RunSchema, { runId: "r" }), [
      create(RebalanceResponseSchema, {
        event: { case: "orderSubmitted", value: { order: order(OrderStatus.SUBMITTED, 0) } },
      }),
      updated(order(OrderStatus.FILLED, 630)),
      updated(order(OrderStatus.PARTIALLY_FILLED, 315)),
    ]);
    expect(run.orders.map((o) => [o.status, o.filledQuantity])).to.deep.equal([
      [OrderStatus.FILLED, 630],
    ]);
  });

  it("adds each fill once, so folding events the record already holds changes nothing", () => {
    const fill = create(FillSchema, { orderId: "7", executionId: "7.1", quantity: 315 });
    const filled = create(RebalanceResponseSchema, {
      event: { case: "orderFilled", value: { fill } },
    });
    const run = foldOrderEvents(create(RunSchema, { runId: "r" }), [filled, filled]);
    expect(foldOrderEvents(run, [filled]).fills.map((f) => f.executionId)).to.deep.equal(["7.1"]);
  });

  it("tells order events (appended alone) from the rest (which save the record)", () => {
    expect(isOrderEvent(updated(order(OrderStatus.SUBMITTED, 0)))).to.equal(true);
    const phase = create(RebalanceResponseSchema, { event: { case: "phase", value: {} } });
    expect(isOrderEvent(phase)).to.equal(false);
  });
});
