import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ExecutionMode,
  FailureReason,
  OrderSide,
  OrderStatus,
  OrderType,
  Phase,
  RebalanceResponseSchema,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { runEventText } from "../src/run-event-text.js";

type EventInit = MessageInitShape<typeof RebalanceResponseSchema>["event"];

function event(value: EventInit) {
  return create(RebalanceResponseSchema, { runId: "run-1", sequence: 1, event: value });
}

const order = {
  orderId: "7",
  symbol: "QQQ",
  side: OrderSide.SELL,
  quantity: 13,
  orderType: OrderType.MARKET,
  status: OrderStatus.PARTIALLY_FILLED,
  filledQuantity: 5,
};

describe("run event text", () => {
  const cases: [string, EventInit, string, string][] = [
    [
      "an accepted run",
      { case: "accepted", value: { accountId: "DU1", mode: ExecutionMode.LIVE } },
      "accepted",
      "run run-1 accepted for DU1, live",
    ],
    [
      "a phase",
      { case: "phase", value: { phase: Phase.REFRESHING_CASH } },
      "phase",
      "refreshing cash",
    ],
    [
      "a submitted order",
      { case: "orderSubmitted", value: { order } },
      "order submitted",
      "SELL 13 QQQ as market order 7",
    ],
    [
      "an order update",
      { case: "orderUpdated", value: { order } },
      "order updated",
      "SELL 13 QQQ partially filled, 5 filled",
    ],
    [
      "a fill",
      {
        case: "orderFilled",
        value: {
          fill: { orderId: "7", symbol: "QQQ", side: OrderSide.SELL, quantity: 5, price: 539.78 },
        },
      },
      "order filled",
      "SELL 5 QQQ at 539.78 (order 7)",
    ],
    [
      "a completed run, in the server's words",
      {
        case: "completed",
        value: { status: RunStatus.COMPLETED, message: "completed: 7 orders filled" },
      },
      "completed",
      "completed: 7 orders filled",
    ],
    [
      "a failed run",
      {
        case: "failed",
        value: {
          reason: FailureReason.ORDER_REJECTED,
          message: "sell of 10 QQQ rejected",
        },
      },
      "failed",
      "order rejected: sell of 10 QQQ rejected",
    ],
  ];
  for (const [name, value, kind, text] of cases) {
    it(`describes ${name}`, () => {
      const described = runEventText(event(value));
      expect(described).to.deep.equal({ kind, text });
    });
  }
});
