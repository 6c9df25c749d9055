// Properties of plan and planBuys over generated portfolios (fast-check, bounded runs).
import { expect } from "chai";
import fc from "fast-check";
import { plan } from "./plan.js";
import type { Plan } from "./plan.js";
import { planBuys } from "./plan-buys.js";
import type { PlanInput } from "./plan-input.js";

const RUNS = { numRuns: 200 };

/** A symbol of the portfolio: its price in cents, shares held, and raw target weight (if any). */
const position = fc.record({
  priceCents: fc.integer({ min: 1, max: 200_000 }),
  held: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 5_000 }),
    fc.integer({ min: 0, max: 50 }).map((q) => q + 0.5),
  ),
  rawWeight: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: undefined }),
});

/**
 * A portfolio whose net liquidation is cash + holdings at market + `otherAssets` (value the
 * planner cannot trade, which makes the buys outgrow the cash). Weights sum to at most 1.
 */
const portfolio = fc
  .record({
    positions: fc.array(position, { minLength: 1, maxLength: 12 }),
    cashCents: fc.integer({ min: -100_000, max: 20_000_000 }),
    otherAssetsCents: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000_000 })),
    cashReservePercent: fc.constantFrom(0, 0.25, 2, 10, 25),
    driftBandPercent: fc.constantFrom(0, 0.5, 1, 5),
    minOrderValue: fc.constantFrom(0, 50, 500),
    replacementScale: fc.option(fc.constantFrom(0.5, 1, 1.5), { nil: undefined }),
    replacementPriceCents: fc.integer({ min: 1, max: 200_000 }),
  })
  .map((p) => {
    const symbols = p.positions.map((_, index) => `S${String(index).padStart(2, "0")}`);
    const rawSum = p.positions.reduce((sum, pos) => sum + (pos.rawWeight ?? 0), 0);
    const targets = p.positions.flatMap((pos, index) =>
      pos.rawWeight === undefined
        ? []
        : [{ symbol: symbols[index], weight: pos.rawWeight / Math.max(rawSum, 1_000) }],
    );
    const prices = new Map(p.positions.map((pos, index) => [symbols[index], pos.priceCents / 100]));
    prices.set("RPL", p.replacementPriceCents / 100);
    const holdings = p.positions.map((pos, index) => ({
      symbol: symbols[index],
      quantity: pos.held,
    }));
    const cash = p.cashCents / 100;
    const sourceWeight = targets.find((t) => t.symbol === "S00")?.weight;
    const input: PlanInput = {
      targets,
      holdings,
      prices,
      netLiquidation: netLiquidation(cash, holdings, prices, p.otherAssetsCents / 100),
      cash,
      settings: {
        cashReservePercent: p.cashReservePercent,
        driftBandPercent: p.driftBandPercent,
        minOrderValue: p.minOrderValue,
        maxOrderValue: 0,
        maxTurnoverPercent: 0,
      },
      // A scale that alone pushes the weights above 1 is refused (tested elsewhere): not here.
      replacements:
        p.replacementScale === undefined || (sourceWeight ?? 0) * p.replacementScale > 1
          ? []
          : [{ source: "S00", target: "RPL", scale: p.replacementScale }],
    };
    return { input, otherAssets: p.otherAssetsCents / 100 };
  })
  .filter(({ input }) => input.targets.length > 0 && input.netLiquidation > 0);

function netLiquidation(
  cash: number,
  holdings: PlanInput["holdings"],
  prices: ReadonlyMap<string, number>,
  otherAssets: number,
): number {
  return (
    holdings.reduce((sum, h) => sum + h.quantity * (prices.get(h.symbol) ?? 0), cash) + otherAssets
  );
}

function cents(orders: Plan["buys"]): number {
  return orders.reduce((sum, order) => sum + Math.round(order.value * 100), 0);
}

/** The account once every order of `planned` filled at the planned prices. */
function afterFills(input: PlanInput, planned: Plan, otherAssets: number): PlanInput {
  const traded = new Map<string, number>();
  for (const o of [...planned.sells, ...planned.buys]) {
    traded.set(
      o.symbol,
      (traded.get(o.symbol) ?? 0) + (o.side === "buy" ? o.quantity : -o.quantity),
    );
  }
  const symbols = new Set([...input.holdings.map((h) => h.symbol), ...traded.keys()]);
  const holdings = [...symbols].map((symbol) => ({
    symbol,
    quantity:
      (input.holdings.find((h) => h.symbol === symbol)?.quantity ?? 0) + (traded.get(symbol) ?? 0),
  }));
  const cash = (Math.round(input.cash * 100) + cents(planned.sells) - cents(planned.buys)) / 100;
  return {
    ...input,
    holdings,
    cash,
    netLiquidation: netLiquidation(cash, holdings, input.prices, otherAssets),
  };
}

const scaledOrDropped = (planned: Plan) =>
  planned.warnings.some((w) => w.startsWith("buys cost") || w.startsWith("no cash left"));

describe("plan, over generated portfolios", () => {
  it("never spends more than the cash left after sells and the reserve", () => {
    fc.assert(
      fc.property(portfolio, ({ input }) => {
        const planned = plan(input);
        if (planned.buys.length === 0) return;
        const spendable =
          Math.round(input.cash * 100) +
          cents(planned.sells) -
          Math.round(planned.reservedCash * 100);
        expect(cents(planned.buys)).to.be.at.most(spendable + 1);
        expect(planned.projectedCash).to.be.at.least(planned.reservedCash - 0.01);
      }),
      RUNS,
    );
  });

  it("never sells more than is held, and orders whole shares only", () => {
    fc.assert(
      fc.property(portfolio, ({ input }) => {
        const planned = plan(input);
        const held = new Map(input.holdings.map((h) => [h.symbol, h.quantity]));
        for (const sell of planned.sells) {
          expect(sell.quantity).to.be.at.most(held.get(sell.symbol) ?? 0);
        }
        for (const order of [...planned.sells, ...planned.buys]) {
          expect(Number.isInteger(order.quantity) && order.quantity > 0).to.equal(true);
          expect(order.value).to.equal(Math.round(order.quantity * order.price * 100) / 100);
        }
      }),
      RUNS,
    );
  });

  it("gives the same plan for the same input, in any order", () => {
    fc.assert(
      fc.property(portfolio, ({ input }) => {
        const reordered: PlanInput = {
          ...input,
          targets: [...input.targets].reverse(),
          holdings: [...input.holdings].reverse(),
        };
        expect(plan(reordered)).to.deep.equal(plan(input));
      }),
      RUNS,
    );
  });

  it("weighs every symbol held or targeted exactly once, sorted by symbol", () => {
    fc.assert(
      fc.property(portfolio, ({ input }) => {
        const planned = plan(input);
        const expected = new Set([
          ...planned.targets.map((t) => t.symbol),
          ...input.holdings.filter((h) => h.quantity > 0).map((h) => h.symbol),
        ]);
        expect(planned.weights.map((w) => w.symbol)).to.deep.equal([...expected].sort());
      }),
      RUNS,
    );
  });

  it("has nothing left to trade once its orders filled, unless buys were scaled to cash", () => {
    // Whole-share rounding leaves every traded symbol within one share of its target, and the
    // band and the minimum judge the same numbers again: re-planning must place no order.
    fc.assert(
      fc.property(portfolio, ({ input, otherAssets }) => {
        const planned = plan(input);
        fc.pre(!scaledOrDropped(planned));
        const again = plan(afterFills(input, planned, otherAssets));
        expect([...again.sells, ...again.buys]).to.deep.equal([]);
      }),
      RUNS,
    );
  });
});

describe("planBuys, over generated portfolios", () => {
  it("never sells, and never spends more than the cash minus the reserve", () => {
    fc.assert(
      fc.property(portfolio, ({ input }) => {
        const planned = planBuys(input);
        expect(planned.sells).to.deep.equal([]);
        if (planned.buys.length === 0) return;
        const spendable = Math.round(input.cash * 100) - Math.round(planned.reservedCash * 100);
        expect(cents(planned.buys)).to.be.at.most(spendable + 1);
      }),
      RUNS,
    );
  });
});
