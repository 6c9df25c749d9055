import { create, ScalarType, type DescMessage } from "@bufbuild/protobuf";
import {
  file_rebalancer_v1_rebalancer,
  GetPositionsResponseSchema,
  RebalanceResponseSchema,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { edgeRounding, isClassified, roundedForTheWire } from "./edge-rounding.js";

/** Every message of the contract, nested ones included. */
function messagesOf(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...messagesOf(m.nestedMessages)]);
}

describe("rounding at the API's edge", () => {
  it("knows every double of the contract as money, a weight, or sent as given", () => {
    const doubles = messagesOf(file_rebalancer_v1_rebalancer.messages).flatMap((m) =>
      m.fields.filter((f) => f.scalar === ScalarType.DOUBLE),
    );
    expect(doubles.length).to.be.greaterThan(30);
    const unclassified = doubles.filter((f) => !isClassified(f)).map((f) => f.toString());
    expect(unclassified, "add each to a set in edge-rounding.ts").to.deep.equal([]);
  });

  it("rounds money to cents and weights to 6 places, leaving prices and quantities as given", () => {
    const sent = roundedForTheWire(
      GetPositionsResponseSchema,
      create(GetPositionsResponseSchema, {
        netLiquidation: 100_000.004999,
        positions: [
          {
            symbol: "QQQ",
            quantity: 0.30000000000000004,
            price: 400.123456,
            marketValue: 1234.565,
            weight: 0.6000000000000001,
          },
        ],
      }),
    );
    expect(sent.netLiquidation).to.equal(100_000);
    expect(sent.positions[0]).to.include({
      quantity: 0.30000000000000004,
      price: 400.123456,
      marketValue: 1234.57,
      weight: 0.6,
    });
  });

  it("rounds inside oneof events and lists, without changing the message it was given", () => {
    const event = create(RebalanceResponseSchema, {
      event: {
        case: "plan",
        value: {
          cash: 10.005,
          plan: { weights: [{ symbol: "SPY", currentWeight: 0.1 + 0.2, projectedWeight: 1 / 3 }] },
        },
      },
    });
    const sent = roundedForTheWire(RebalanceResponseSchema, event);
    if (sent.event.case !== "plan") throw new Error("not a plan");
    expect(sent.event.value.cash).to.equal(10.01);
    expect(sent.event.value.plan!.weights[0]).to.include({
      currentWeight: 0.3,
      projectedWeight: 0.333333,
    });
    expect(event.event.case === "plan" && event.event.value.cash).to.equal(10.005);
    const weight = RebalanceResponseSchema.file.messages
      .find((m) => m.name === "ProjectedWeight")!
      .fields.find((f) => f.name === "projected_weight")!;
    expect(edgeRounding(weight)).to.equal("weight");
  });
});
