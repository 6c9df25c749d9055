import { expect } from "chai";
import type { BrokerOrder } from "../broker/broker.js";
import { isNotBehind } from "./order-tracker.js";

const order = (status: BrokerOrder["status"], filledQuantity: number) =>
  ({ orderId: "7", quantity: 630, status, filledQuantity }) as BrokerOrder;

describe("an order's state only moves forward", () => {
  it("refuses fewer shares filled, and leaving a final status", () => {
    expect(isNotBehind(order("filled", 630), order("partially_filled", 315))).to.equal(false);
    expect(isNotBehind(order("cancelled", 0), order("submitted", 0))).to.equal(false);
  });

  it("accepts more shares filled, the same state again and one final status after another", () => {
    expect(isNotBehind(order("partially_filled", 315), order("filled", 630))).to.equal(true);
    expect(isNotBehind(order("submitted", 0), order("submitted", 0))).to.equal(true);
    expect(isNotBehind(order("filled", 630), order("filled", 630))).to.equal(true);
  });
});
