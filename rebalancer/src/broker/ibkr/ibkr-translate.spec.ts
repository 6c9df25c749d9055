import { IBApiTickType, OrderAction, OrderType, type MarketDataTicks } from "@stoqey/ib";
import { expect } from "chai";
import {
  accountValuesFromSummary,
  executionTime,
  ibOrderFromRequest,
  orderStateFrom,
  quoteFromTicks,
  type SummaryValues,
} from "./ibkr-translate.js";

function ticks(values: [IBApiTickType, number | undefined][]): MarketDataTicks {
  return new Map(values.map(([type, value]) => [type, { value, ingressTm: 0 }]));
}

describe("IB translation", () => {
  describe("quoteFromTicks", () => {
    it("takes the last price, live or delayed", () => {
      expect(quoteFromTicks("SPY", ticks([[IBApiTickType.LAST, 500]]))).to.deep.equal({
        symbol: "SPY",
        price: 500,
        source: "last",
      });
      const delayed = ticks([
        [IBApiTickType.DELAYED_LAST, 501],
        [IBApiTickType.DELAYED_CLOSE, 498],
      ]);
      expect(quoteFromTicks("SPY", delayed)).to.deep.equal({
        symbol: "SPY",
        price: 501,
        source: "last",
      });
    });

    it("falls back to the bid/ask midpoint, then to the close", () => {
      const quoted = ticks([
        [IBApiTickType.DELAYED_BID, 99],
        [IBApiTickType.DELAYED_ASK, 101],
        [IBApiTickType.CLOSE, 90],
      ]);
      expect(quoteFromTicks("X", quoted)).to.deep.equal({
        symbol: "X",
        price: 100,
        source: "midpoint",
      });
      const oneSided = ticks([
        [IBApiTickType.BID, 99],
        [IBApiTickType.DELAYED_CLOSE, 90],
      ]);
      expect(quoteFromTicks("X", oneSided)).to.deep.equal({
        symbol: "X",
        price: 90,
        source: "close",
      });
    });

    it("ignores missing, zero and negative prices and a crossed market", () => {
      expect(
        quoteFromTicks(
          "X",
          ticks([
            [IBApiTickType.LAST, -1],
            [IBApiTickType.CLOSE, 0],
          ]),
        ),
      ).to.equal(undefined);
      expect(
        quoteFromTicks(
          "X",
          ticks([
            [IBApiTickType.BID, 101],
            [IBApiTickType.ASK, 99],
          ]),
        ),
      ).to.equal(undefined);
      expect(quoteFromTicks("X", ticks([[IBApiTickType.LAST, undefined]]))).to.equal(undefined);
    });
  });

  describe("orderStateFrom", () => {
    const cases: [string | undefined, number, boolean, string][] = [
      [undefined, 0, false, "pending_submit"],
      ["PendingSubmit", 0, false, "pending_submit"],
      ["PreSubmitted", 0, false, "submitted"],
      ["Submitted", 0, false, "submitted"],
      ["Submitted", 4, false, "partially_filled"],
      ["Submitted", 10, false, "filled"],
      ["Filled", 10, false, "filled"],
      ["Cancelled", 0, false, "cancelled"],
      ["Cancelled", 4, false, "cancelled"],
      ["Inactive", 0, false, "rejected"],
      ["Cancelled", 0, true, "rejected"],
    ];
    for (const [ibStatus, filled, rejected, expected] of cases) {
      it(`${ibStatus ?? "nothing yet"}, ${filled} of 10 filled${rejected ? ", rejected" : ""}: ${expected}`, () => {
        expect(orderStateFrom(ibStatus, filled, 10, rejected)).to.equal(expected);
      });
    }
  });

  it("builds a transmitted IB order carrying account, time in force, outsideRth and run id", () => {
    const order = ibOrderFromRequest({
      accountId: "DU1",
      symbol: "SPY",
      side: "sell",
      quantity: 3,
      orderType: "market_on_close",
      timeInForce: "DAY",
      outsideRth: false,
      runId: "run-42",
    });
    expect(order).to.include({
      action: OrderAction.SELL,
      totalQuantity: 3,
      orderType: OrderType.MOC,
      tif: "DAY",
      account: "DU1",
      orderRef: "run-42",
      transmit: true,
      outsideRth: false,
    });
    expect(order.lmtPrice).to.equal(undefined);
  });

  it("reads execution times with a zone; without one it leaves the time to the caller", () => {
    expect(executionTime("20250624 10:31:05 US/Eastern")).to.deep.equal(
      new Date("2025-06-24T14:31:05Z"),
    );
    expect(executionTime("20250624-14:31:05 UTC")).to.deep.equal(new Date("2025-06-24T14:31:05Z"));
    expect(executionTime("20250624  10:31:05")).to.equal(undefined);
  });

  it("reads account values in the base currency and names a missing tag", () => {
    const tags: SummaryValues = new Map([
      ["NetLiquidation", new Map([["USD", { value: "26250.00" }]])],
      ["TotalCashValue", new Map([["USD", { value: "20000.00" }]])],
      ["AvailableFunds", new Map([["USD", { value: "19000.50" }]])],
    ]);
    const asOf = new Date();
    expect(accountValuesFromSummary("DU1", tags, asOf)).to.deep.equal({
      netLiquidation: 26250,
      cash: 20000,
      availableFunds: 19000.5,
      currency: "USD",
      asOf,
    });
    const partial: SummaryValues = new Map([...tags].filter(([tag]) => tag !== "AvailableFunds"));
    expect(() => accountValuesFromSummary("DU1", partial, asOf)).to.throw(
      /DU1 has no AvailableFunds/,
    );
  });
});
