import { expect } from "chai";
import { plan } from "./plan.js";
import { planBuys } from "./plan-buys.js";
import type { PlanInput } from "./plan-input.js";
import { refusal, testInput } from "./private/test-support.js";

describe("planBuys", () => {
  it("plans buys only: nothing is sold, not even a holding outside the targets", () => {
    const result = planBuys(
      testInput({
        targets: [
          { symbol: "AAA", weight: 0.5 },
          { symbol: "BBB", weight: 0.4 },
        ],
        holdings: [
          { symbol: "AAA", quantity: 90 },
          { symbol: "ZZZ", quantity: 10 },
        ],
        prices: { AAA: 100, BBB: 50, ZZZ: 50 },
        netLiquidation: 10_500,
        cash: 1_000,
      }),
    );
    expect(result.sells).to.deep.equal([]);
    expect(result.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([["BBB", 20]]);
  });

  it("never spends more than the cash minus the reserve", () => {
    // Reserve 1,000 of 10,000; 4,500 of BBB wanted, 5,000 - 1,000 = 4,000 to spend: 80 shares.
    const result = planBuys(
      testInput({
        targets: [{ symbol: "BBB", weight: 0.5 }],
        prices: { BBB: 50 },
        cash: 5_000,
        settings: { cashReservePercent: 10 },
      }),
    );
    expect(result.buys.map((o) => [o.symbol, o.quantity, o.value])).to.deep.equal([
      ["BBB", 80, 4_000],
    ]);
    expect(result.projectedCash).to.equal(result.reservedCash);
  });

  it("buys what the full plan planned, once the full plan's sells have filled", () => {
    const before = testInput({
      targets: [
        { symbol: "AAA", weight: 0.5 },
        { symbol: "BBB", weight: 0.25 },
        { symbol: "CCC", weight: 0.25 },
      ],
      holdings: [
        { symbol: "AAA", quantity: 90 },
        { symbol: "ZZZ", quantity: 7 },
      ],
      prices: { AAA: 100, BBB: 50, CCC: 25, ZZZ: 30 },
      netLiquidation: 10_210,
      cash: 1_000,
      settings: { cashReservePercent: 10 },
    });
    const full = plan(before);
    expect(full.sells).to.have.length(2);
    expect(full.buys).to.have.length(2);

    const afterSells: PlanInput = {
      ...before,
      holdings: before.holdings.map(({ symbol, quantity }) => ({
        symbol,
        quantity: quantity - (full.sells.find((o) => o.symbol === symbol)?.quantity ?? 0),
      })),
      cash: before.cash + full.sells.reduce((sum, o) => sum + o.value, 0),
    };
    expect(planBuys(afterSells).buys).to.deep.equal(full.buys);
  });

  it("needs no price for a holding outside the targets, and reports its weight as unknown", () => {
    const result = planBuys(
      testInput({
        targets: [{ symbol: "BBB", weight: 0.5 }],
        holdings: [{ symbol: "ZZZ", quantity: 10 }],
        prices: { BBB: 50 },
        cash: 9_000,
      }),
    );
    expect(result.buys.map((o) => o.symbol)).to.deep.equal(["BBB"]);
    const zzz = result.weights.find((w) => w.symbol === "ZZZ");
    expect(Number.isNaN(zzz?.current)).to.equal(true);
    expect(result.warnings).to.include("ZZZ: no price, so its weight is unknown (reported as NaN)");
  });

  it("refuses (missing_price) a symbol it must buy that has no price", () => {
    const error = refusal(() =>
      planBuys(testInput({ targets: [{ symbol: "BBB", weight: 0.5 }], prices: { BBB: 0 } })),
    );
    expect(error.code).to.equal("missing_price");
    expect(error.message).to.contain("no price for BBB");
  });

  it("applies the risk caps to the buys", () => {
    const error = refusal(() =>
      planBuys(
        testInput({
          targets: [{ symbol: "BBB", weight: 0.5 }],
          prices: { BBB: 50 },
          settings: { maxOrderValue: 1_000 },
        }),
      ),
    );
    expect(error.code).to.equal("risk_limit");
  });
});
