import { expect } from "chai";
import { plan } from "./plan.js";
import { refusal, testInput } from "./private/test-support.js";

describe("plan", () => {
  describe("sizing", () => {
    it("sizes a buy from the target value minus the market value already held", () => {
      // 40 AAA at 125 = 5,000 held; target 0.6 x 10,000 = 6,000: buy 1,000 = 8 shares.
      // (Sizing from cash x weight, the old defect, would have bought 24.)
      const result = plan(
        testInput({
          targets: [{ symbol: "AAA", weight: 0.6 }],
          holdings: [{ symbol: "AAA", quantity: 40 }],
          prices: { AAA: 125 },
          cash: 5_000,
        }),
      );
      expect(result.sells).to.deep.equal([]);
      expect(result.buys).to.deep.equal([
        {
          symbol: "AAA",
          side: "buy",
          quantity: 8,
          price: 125,
          value: 1_000,
          reason: "below target: 50.00% vs 60.00% of net liquidation",
        },
      ]);
    });

    it("values holdings at the market price: a price rise above target means selling", () => {
      // 40 AAA now at 150 = 6,000, target 5,000: sell 1,000 / 150 = 6.67, rounded down to 6.
      const result = plan(
        testInput({
          targets: [{ symbol: "AAA", weight: 0.5 }],
          holdings: [{ symbol: "AAA", quantity: 40 }],
          prices: { AAA: 150 },
          cash: 4_000,
        }),
      );
      expect(result.sells.map((o) => [o.symbol, o.quantity, o.value])).to.deep.equal([
        ["AAA", 6, 900],
      ]);
      expect(result.buys).to.deep.equal([]);
    });

    it("sells only whole shares of a fractional holding above target, never more than held", () => {
      // 10.9 AAA at 100 = 1,090, target 200: the excess is 8.9 shares; 8 are sold.
      const result = plan(
        testInput({
          targets: [{ symbol: "AAA", weight: 0.1 }],
          holdings: [{ symbol: "AAA", quantity: 10.9 }],
          prices: { AAA: 100 },
          netLiquidation: 2_000,
          cash: 910,
        }),
      );
      expect(result.sells.map((o) => o.quantity)).to.deep.equal([8]);
    });
  });

  describe("holdings outside the targets", () => {
    const input = testInput({
      targets: [{ symbol: "AAA", weight: 0.5 }],
      holdings: [{ symbol: "ZZZ", quantity: 10 }],
      prices: { AAA: 100, ZZZ: 50 },
      cash: 9_500,
      settings: { driftBandPercent: 60, minOrderValue: 1_000_000 },
    });

    it("sells all of a holding not in the targets, whatever the drift band and minimum", () => {
      const result = plan(input);
      expect(result.sells).to.deep.equal([
        {
          symbol: "ZZZ",
          side: "sell",
          quantity: 10,
          price: 50,
          value: 500,
          reason: "not in targets: sell all",
        },
      ]);
    });

    it("liquidates a symbol targeted at weight 0 the same way", () => {
      const result = plan({
        ...input,
        targets: [...input.targets, { symbol: "ZZZ", weight: 0 }],
      });
      expect(result.sells.map((o) => [o.symbol, o.quantity, o.reason])).to.deep.equal([
        ["ZZZ", 10, "target weight 0: sell all"],
      ]);
    });

    it("sells the whole shares of a fractional holding and warns that the fraction stays", () => {
      const result = plan({ ...input, holdings: [{ symbol: "ZZZ", quantity: 10.75 }] });
      expect(result.sells.map((o) => o.quantity)).to.deep.equal([10]);
      expect(result.warnings).to.include(
        "ZZZ: 0.75 fractional share(s) stay held; only whole shares can be sold",
      );
      // Reported as the broker would show it, not as float subtraction leaves it.
      const odd = plan({ ...input, holdings: [{ symbol: "ZZZ", quantity: 10.3 }] });
      expect(odd.warnings).to.include(
        "ZZZ: 0.3 fractional share(s) stay held; only whole shares can be sold",
      );
    });

    it("places no order for a holding of less than one share, and warns", () => {
      const result = plan({ ...input, holdings: [{ symbol: "ZZZ", quantity: 0.4 }] });
      expect(result.sells).to.deep.equal([]);
      expect(result.warnings.some((w) => w.startsWith("ZZZ: 0.4 fractional share"))).to.equal(true);
    });
  });

  describe("cash reserve", () => {
    const input = testInput({
      targets: [{ symbol: "AAA", weight: 1 }],
      prices: { AAA: 100 },
      settings: { cashReservePercent: 10 },
    });

    it("keeps cashReservePercent of net liquidation out of the target values", () => {
      // reserve 1,000; target value 1 x (10,000 - 1,000) = 9,000 = 90 shares.
      const result = plan(input);
      expect(result.reservedCash).to.equal(1_000);
      expect(result.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([["AAA", 90]]);
      expect(result.projectedCash).to.equal(1_000);
    });

    it("reports the target weight net of the reserve, as a fraction of net liquidation", () => {
      const [weight] = plan(input).weights;
      expect(weight).to.deep.equal({ symbol: "AAA", current: 0, target: 0.9, projected: 0.9 });
    });

    it("rounds the reserve to cents", () => {
      const result = plan({
        ...input,
        netLiquidation: 10_000.01,
        cash: 10_000.01,
        settings: { ...input.settings, cashReservePercent: 2.5 },
      });
      expect(result.reservedCash).to.equal(250);
    });
  });

  describe("drift band", () => {
    // 48 AAA at 100 = 48% of 10,000 against a 50% target: 2 points off.
    const input = testInput({
      targets: [{ symbol: "AAA", weight: 0.5 }],
      holdings: [{ symbol: "AAA", quantity: 48 }],
      prices: { AAA: 100 },
      cash: 5_200,
    });
    const withBand = (driftBandPercent: number) =>
      plan({ ...input, settings: { ...input.settings, driftBandPercent } });

    it("leaves a symbol within the band alone, and says so", () => {
      const result = withBand(3);
      expect(result.buys).to.deep.equal([]);
      expect(result.warnings).to.deep.equal([
        "AAA: within the drift band (48.00% vs target 50.00%, band 3 points); left alone",
      ]);
    });

    it("counts a drift exactly on the band edge as within the band", () => {
      expect(withBand(2).buys).to.deep.equal([]);
    });

    it("trades a symbol just outside the band", () => {
      expect(withBand(1.9).buys.map((o) => o.quantity)).to.deep.equal([2]);
    });

    it("measures the band in absolute percentage points, not relative to the target", () => {
      // 8% against 10% is 20% off relatively but only 2 points: within a 5-point band.
      const result = plan(
        testInput({
          targets: [{ symbol: "AAA", weight: 0.1 }],
          holdings: [{ symbol: "AAA", quantity: 8 }],
          prices: { AAA: 100 },
          cash: 9_200,
          settings: { driftBandPercent: 5 },
        }),
      );
      expect(result.buys).to.deep.equal([]);
    });
  });

  describe("minimum order value", () => {
    // 49 AAA at 100 against 5,000: one share, worth 100, is missing.
    const input = testInput({
      targets: [{ symbol: "AAA", weight: 0.5 }],
      holdings: [{ symbol: "AAA", quantity: 49 }],
      prices: { AAA: 100 },
      cash: 5_100,
    });
    const withMinimum = (minOrderValue: number) =>
      plan({ ...input, settings: { ...input.settings, minOrderValue } });

    it("skips a trade worth less than the minimum, and says so", () => {
      const result = withMinimum(150);
      expect(result.buys).to.deep.equal([]);
      expect(result.warnings).to.deep.equal([
        "AAA: buy of 1 shares worth 100.00 is below the minimum order value 150.00; left alone",
      ]);
    });

    it("places a trade worth exactly the minimum", () => {
      expect(withMinimum(100).buys.map((o) => o.value)).to.deep.equal([100]);
    });

    it("warns about a target worth less than one share", () => {
      const result = plan(
        testInput({ targets: [{ symbol: "BRK.A", weight: 0.01 }], prices: { "BRK.A": 600_000 } }),
      );
      expect(result.buys).to.deep.equal([]);
      expect(result.warnings).to.deep.equal([
        "BRK.A: its target value 100.00 is less than one share at 600000; not bought",
      ]);
    });
  });

  describe("cash", () => {
    it("never spends more than the cash left after sells and the reserve", () => {
      // Reserve 1,000, investable 9,000. Sell 45 AAA (4,500); buy 45 BBB and 90 CCC (4,500):
      // exactly the 1,000 cash + 4,500 proceeds - 1,000 reserve.
      const result = plan(
        testInput({
          targets: [
            { symbol: "AAA", weight: 0.5 },
            { symbol: "BBB", weight: 0.25 },
            { symbol: "CCC", weight: 0.25 },
          ],
          holdings: [{ symbol: "AAA", quantity: 90 }],
          prices: { AAA: 100, BBB: 50, CCC: 25 },
          cash: 1_000,
          settings: { cashReservePercent: 10 },
        }),
      );
      expect(result.sells.map((o) => [o.symbol, o.quantity])).to.deep.equal([["AAA", 45]]);
      expect(result.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([
        ["BBB", 45],
        ["CCC", 90],
      ]);
      expect(result.projectedCash).to.equal(result.reservedCash);
      expect(result.warnings).to.deep.equal([]);
    });

    it("scales every buy down by the same ratio when the cash is short, and warns", () => {
      // Net liquidation says 10,000 but only 3,000 is cash, 1,000 of it reserved: 2,000 of
      // the 9,000 wanted, 2/9 of each buy.
      const result = plan(
        testInput({
          targets: [
            { symbol: "BBB", weight: 0.5 },
            { symbol: "CCC", weight: 0.5 },
          ],
          prices: { BBB: 50, CCC: 25 },
          cash: 3_000,
          settings: { cashReservePercent: 10 },
        }),
      );
      expect(result.buys.map((o) => [o.symbol, o.quantity, o.value])).to.deep.equal([
        ["BBB", 20, 1_000],
        ["CCC", 40, 1_000],
      ]);
      expect(result.buys[0].reason).to.contain("scaled down from 90 shares to fit the cash");
      expect(result.warnings).to.deep.equal([
        "buys cost 9000.00 but only 2000.00 available = cash 3000.00 + sells 0.00 - " +
          "reserve 1000.00: scaled to 22.22% and rounded to whole shares",
      ]);
      expect(result.projectedCash).to.equal(1_000);
    });

    it("spends the cash that rounding the scaled buys down frees on whole shares", () => {
      // Wanted 166 BBB (4,980) + 71 CCC (4,970); scaled by 3,000 / 9,950 to 50 BBB + 21 CCC
      // (2,970); the 30 left buys one more BBB.
      const result = plan(
        testInput({
          targets: [
            { symbol: "BBB", weight: 0.5 },
            { symbol: "CCC", weight: 0.5 },
          ],
          prices: { BBB: 30, CCC: 70 },
          cash: 3_000,
        }),
      );
      expect(result.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([
        ["BBB", 51],
        ["CCC", 21],
      ]);
      expect(result.projectedCash).to.equal(0);
    });

    it("drops a scaled buy that falls under the minimum order value", () => {
      const result = plan(
        testInput({
          targets: [
            { symbol: "BBB", weight: 0.9 },
            { symbol: "CCC", weight: 0.1 },
          ],
          prices: { BBB: 10, CCC: 10 },
          cash: 1_000,
          settings: { minOrderValue: 200 },
        }),
      );
      expect(result.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([["BBB", 90]]);
      expect(result.warnings[1]).to.contain("buys of CCC fell to 0 shares or under the minimum");
    });

    it("buys nothing when the cash after the reserve is negative, and says so", () => {
      const result = plan(
        testInput({
          targets: [{ symbol: "BBB", weight: 0.5 }],
          prices: { BBB: 50 },
          cash: -500,
        }),
      );
      expect(result.buys).to.deep.equal([]);
      expect(result.warnings).to.deep.equal([
        "no cash left for buys (-500.00 available = cash -500.00 + sells 0.00 - reserve 0.00); " +
          "1 buy(s) dropped",
      ]);
    });
  });

  describe("replacement sets", () => {
    const result = plan(
      testInput({
        targets: [
          { symbol: "UVXY", weight: 0.2 },
          { symbol: "QQQ", weight: 0.8 },
        ],
        holdings: [{ symbol: "UVXY", quantity: 10 }],
        prices: { UVXY: 20, VXX: 50, QQQ: 100 },
        cash: 9_800,
        replacements: [{ source: "UVXY", target: "VXX", scale: 1.5 }],
      }),
    );

    it("buys the replacement with weight x scale, shrinking the others to make room", () => {
      expect(result.targets.map((t) => t.symbol)).to.deep.equal(["QQQ", "VXX"]);
      expect(result.targets[0].weight).to.be.closeTo(0.7, 1e-12);
      expect(result.targets[1].weight).to.be.closeTo(0.3, 1e-12);
      expect(result.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([
        ["QQQ", 70],
        ["VXX", 60],
      ]);
    });

    it("sells a held source symbol, which the account may not hold", () => {
      expect(result.sells.map((o) => [o.symbol, o.quantity, o.reason])).to.deep.equal([
        ["UVXY", 10, "not in targets: sell all"],
      ]);
    });
  });

  describe("prices", () => {
    it("refuses (missing_price) a held symbol without a price that must be sold", () => {
      const error = refusal(() =>
        plan(
          testInput({
            targets: [{ symbol: "AAA", weight: 0.5 }],
            holdings: [{ symbol: "ZZZ", quantity: 10 }],
            prices: { AAA: 100 },
          }),
        ),
      );
      expect(error.code).to.equal("missing_price");
      expect(error.message).to.equal(
        "no price for ZZZ: the 10 shares held must be sold (not in targets)",
      );
    });

    it("refuses (missing_price) a symbol to buy whose price is absent, 0, negative or NaN", () => {
      const cases: Array<Record<string, number>> = [{}, { AAA: 0 }, { AAA: -3 }, { AAA: NaN }];
      for (const prices of cases) {
        const error = refusal(() =>
          plan(testInput({ targets: [{ symbol: "AAA", weight: 0.5 }], prices })),
        );
        expect(error.code).to.equal("missing_price");
        expect(error.message).to.equal(
          "no price for AAA: needed to buy toward its target of 50.00%",
        );
      }
    });

    it("refuses (missing_price) a held, targeted symbol whose value cannot be known", () => {
      const error = refusal(() =>
        plan(
          testInput({
            targets: [{ symbol: "AAA", weight: 0.5 }],
            holdings: [{ symbol: "AAA", quantity: 10 }],
          }),
        ),
      );
      expect(error.code).to.equal("missing_price");
      expect(error.message).to.equal("no price for AAA: needed to value the 10 shares held");
    });

    it("accepts a missing price for a symbol that need not trade", () => {
      // Not held; 2% target inside a 5-point band (or under the minimum): nothing to price.
      const input = testInput({
        targets: [
          { symbol: "AAA", weight: 0.02 },
          { symbol: "BBB", weight: 0.5 },
        ],
        prices: { BBB: 100 },
        settings: { driftBandPercent: 5 },
      });
      const result = plan(input);
      expect(result.buys.map((o) => o.symbol)).to.deep.equal(["BBB"]);
      expect(result.weights[0]).to.deep.equal({
        symbol: "AAA",
        current: 0,
        target: 0.02,
        projected: 0,
      });
      const underMinimum = plan({
        ...input,
        settings: { ...input.settings, driftBandPercent: 0, minOrderValue: 500 },
      });
      expect(underMinimum.buys.map((o) => o.symbol)).to.deep.equal(["BBB"]);
    });
  });

  describe("input checks", () => {
    const valid = testInput({
      targets: [{ symbol: "AAA", weight: 0.5 }],
      holdings: [{ symbol: "AAA", quantity: 10 }],
      prices: { AAA: 100 },
      cash: 9_000,
    });

    it("refuses invalid targets (invalid_targets)", () => {
      const error = refusal(() => plan({ ...valid, targets: [{ symbol: "AAA", weight: 1.5 }] }));
      expect(error.code).to.equal("invalid_targets");
      expect(error.message).to.equal("weight of AAA is 1.5, outside [0, 1]");
    });

    const invalid: Array<[string, Partial<typeof valid>, string]> = [
      ["net liquidation of 0", { netLiquidation: 0 }, "net liquidation must be a positive"],
      ["negative net liquidation", { netLiquidation: -5 }, "net liquidation must be a positive"],
      ["NaN net liquidation", { netLiquidation: NaN }, "got NaN"],
      ["infinite net liquidation", { netLiquidation: Infinity }, "got Infinity"],
      ["NaN cash", { cash: NaN }, "cash must be a finite number, got NaN"],
      [
        "a NaN quantity",
        { holdings: [{ symbol: "AAA", quantity: NaN }] },
        "holding of AAA is not a number",
      ],
      [
        "an infinite quantity",
        { holdings: [{ symbol: "AAA", quantity: Infinity }] },
        "holding of AAA is not a number",
      ],
      [
        "a short holding",
        { holdings: [{ symbol: "AAA", quantity: -10 }] },
        "short holding of AAA (-10 shares): the planner does not handle short positions",
      ],
      [
        "a symbol held twice",
        {
          holdings: [
            { symbol: "AAA", quantity: 1 },
            { symbol: "AAA", quantity: 2 },
          ],
        },
        "AAA is listed twice in the holdings",
      ],
      [
        "a reserve above 100%",
        { settings: { ...valid.settings, cashReservePercent: 101 } },
        "setting cashReservePercent is 101; it must be between 0 and 100",
      ],
      [
        "a negative band",
        { settings: { ...valid.settings, driftBandPercent: -1 } },
        "setting driftBandPercent is -1",
      ],
      [
        "a NaN minimum",
        { settings: { ...valid.settings, minOrderValue: NaN } },
        "setting minOrderValue is NaN",
      ],
      [
        "a negative order cap",
        { settings: { ...valid.settings, maxOrderValue: -1 } },
        "setting maxOrderValue is -1",
      ],
      [
        "an infinite turnover cap",
        { settings: { ...valid.settings, maxTurnoverPercent: Infinity } },
        "setting maxTurnoverPercent is Infinity",
      ],
    ];
    for (const [what, change, message] of invalid) {
      it(`refuses ${what} (invalid_input)`, () => {
        const error = refusal(() => plan({ ...valid, ...change }));
        expect(error.code).to.equal("invalid_input");
        expect(error.message).to.contain(message);
      });
    }
  });

  describe("risk caps", () => {
    // Sell 40 AAA (4,000), buy 80 BBB (4,000): turnover 8,000 = 80% of net liquidation.
    const input = testInput({
      targets: [
        { symbol: "AAA", weight: 0.5 },
        { symbol: "BBB", weight: 0.4 },
      ],
      holdings: [{ symbol: "AAA", quantity: 90 }],
      prices: { AAA: 100, BBB: 50 },
      cash: 1_000,
    });
    const withCaps = (maxOrderValue: number, maxTurnoverPercent: number) =>
      plan({ ...input, settings: { ...input.settings, maxOrderValue, maxTurnoverPercent } });

    it("refuses (risk_limit) a plan with an order above maxOrderValue, naming the order", () => {
      const error = refusal(() => withCaps(3_000, 0));
      expect(error.code).to.equal("risk_limit");
      expect(error.message).to.equal(
        "sell of 40 AAA worth 4000.00 is above the maximum order value 3000.00 " +
          "(2 orders are above it)",
      );
    });

    it("accepts an order worth exactly maxOrderValue", () => {
      expect(withCaps(4_000, 0).buys).to.have.length(1);
    });

    it("refuses (risk_limit) a plan whose turnover is above maxTurnoverPercent", () => {
      const error = refusal(() => withCaps(0, 50));
      expect(error.code).to.equal("risk_limit");
      expect(error.message).to.equal(
        "turnover of 8000.00 is 80.00% of net liquidation 10000.00, above the cap of 50%",
      );
    });

    it("treats a cap of 0 as no cap", () => {
      expect(withCaps(0, 0).sells).to.have.length(1);
    });

    it("judges the caps on the orders as scaled to the cash", () => {
      // 10,000 of buys wanted but 3,000 cash: two buys of 1,500, under a 2,000 cap.
      const result = plan(
        testInput({
          targets: [
            { symbol: "BBB", weight: 0.5 },
            { symbol: "CCC", weight: 0.5 },
          ],
          prices: { BBB: 50, CCC: 25 },
          cash: 3_000,
          settings: { maxOrderValue: 2_000, maxTurnoverPercent: 30 },
        }),
      );
      expect(result.buys.map((o) => o.value)).to.deep.equal([1_500, 1_500]);
    });
  });

  describe("the plan", () => {
    const input = testInput({
      targets: [
        { symbol: "QQQ", weight: 0.3 },
        { symbol: "EDC", weight: 0.2 },
        { symbol: "TQQQ", weight: 0.1 },
        { symbol: "BTAL", weight: 0.3 },
      ],
      holdings: [
        { symbol: "ZZZ", quantity: 5 },
        { symbol: "QQQ", quantity: 10 },
        { symbol: "AAPL", quantity: 3 },
        { symbol: "OLD", quantity: 0 },
      ],
      prices: { QQQ: 480, EDC: 40, TQQQ: 80, BTAL: 20, ZZZ: 10, AAPL: 200 },
      cash: 10_000 - 4_800 - 50 - 600,
    });

    it("sorts sells, buys, targets and weights by symbol", () => {
      const result = plan(input);
      const sorted = (symbols: string[]) => [...symbols].sort();
      for (const list of [result.sells, result.buys, result.targets, result.weights]) {
        const symbols = list.map((entry) => entry.symbol);
        expect(symbols).to.deep.equal(sorted(symbols));
      }
      expect(result.sells.map((o) => o.symbol)).to.deep.equal(["AAPL", "QQQ", "ZZZ"]);
    });

    it("weighs every symbol held or targeted, and no symbol held at 0 shares", () => {
      expect(plan(input).weights.map((w) => w.symbol)).to.deep.equal([
        "AAPL",
        "BTAL",
        "EDC",
        "QQQ",
        "TQQQ",
        "ZZZ",
      ]);
    });

    it("projects cash as cash + sells - buys, to the cent", () => {
      const result = plan(input);
      const traded = (orders: typeof result.buys) =>
        orders.reduce((sum, o) => sum + Math.round(o.value * 100), 0);
      expect(Math.round(result.projectedCash * 100)).to.equal(
        Math.round(input.cash * 100) + traded(result.sells) - traded(result.buys),
      );
    });

    it("is the same plan for the same input, whatever the order of targets and holdings", () => {
      const reordered = {
        ...input,
        targets: [...input.targets].reverse(),
        holdings: [...input.holdings].reverse(),
        prices: new Map([...input.prices].reverse()),
      };
      expect(plan(reordered)).to.deep.equal(plan(input));
      expect(plan(input)).to.deep.equal(plan(input));
    });
  });
});
