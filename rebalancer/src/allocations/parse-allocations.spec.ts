import { expect } from "chai";
import { AllocationError } from "./allocation-error.js";
import { parseAllocations } from "./parse-allocations.js";

const options = { strategy: "etf-blend-301-20", source: "test" };

/** The provider's public example, as the API envelopes it. */
const enveloped = {
  status: "success",
  data: {
    allocations: [
      { symbol: "EDC", allocation: 0.2141 },
      { symbol: "QLD", allocation: 0.1779 },
      { symbol: "QQQ", allocation: 0.141 },
      { symbol: "BTAL", allocation: 0.2817 },
      { symbol: "SPXL", allocation: 0.0368 },
      { symbol: "TQQQ", allocation: 0.1475 },
    ],
    name: "etf-blend-301-20",
    strategy_long_name: "ETF Blend 301-20",
    last_rebalance_on: "2025-06-20",
    as_of: "2025-06-24",
  },
};

function refusal(
  doc: unknown,
  opts: Partial<typeof options> & { checkName?: boolean } = {},
): string {
  try {
    parseAllocations(doc, { ...options, ...opts });
  } catch (err) {
    expect(err).to.be.instanceOf(AllocationError);
    expect((err as AllocationError).code).to.equal("invalid");
    expect((err as AllocationError).retryable).to.equal(false);
    return (err as Error).message;
  }
  throw new Error("expected the document to be refused");
}

const bare = (allocations: unknown) => ({ name: "etf-blend-301-20", allocations });

describe("parseAllocations", () => {
  it("reads the API's envelope: targets in order, the strategy and as_of", () => {
    const result = parseAllocations(enveloped, options);
    expect(result.strategy).to.equal("etf-blend-301-20");
    expect(result.asOf).to.equal("2025-06-24");
    expect(result.targets).to.deep.equal(
      enveloped.data.allocations.map((a) => ({ symbol: a.symbol, weight: a.allocation })),
    );
  });

  it("reads the bare form of a file", () => {
    const result = parseAllocations(
      {
        name: "etf-blend-301-20",
        as_of: "2025-06-24",
        allocations: [{ symbol: "QQQ", allocation: 1 }],
      },
      options,
    );
    expect(result).to.deep.equal({
      strategy: "etf-blend-301-20",
      asOf: "2025-06-24",
      targets: [{ symbol: "QQQ", weight: 1 }],
    });
  });

  it("falls back to last_rebalance_on, and to an empty asOf when no date is given", () => {
    const data: Record<string, unknown> = { ...enveloped.data };
    delete data.as_of;
    expect(parseAllocations({ status: "success", data }, options).asOf).to.equal("2025-06-20");
    expect(parseAllocations(bare([{ symbol: "QQQ", allocation: 1 }]), options).asOf).to.equal("");
  });

  it("trims and upper-cases symbols", () => {
    const result = parseAllocations(bare([{ symbol: " brk.b ", allocation: 0.5 }]), options);
    expect(result.targets).to.deep.equal([{ symbol: "BRK.B", weight: 0.5 }]);
  });

  it("accepts weights that miss 1 by rounding either way, and a shortfall that stays in cash", () => {
    for (const total of [0.999, 1.004, 0.6]) {
      const doc = bare([
        { symbol: "A", allocation: total / 2 },
        { symbol: "B", allocation: total / 2 },
      ]);
      expect(parseAllocations(doc, options).targets).to.have.length(2);
    }
  });

  it("keeps a zero weight: the symbol is to be sold", () => {
    const doc = bare([
      { symbol: "A", allocation: 0 },
      { symbol: "B", allocation: 1 },
    ]);
    expect(parseAllocations(doc, options).targets[0]).to.deep.equal({ symbol: "A", weight: 0 });
  });

  it("refuses weights summing above 1 beyond the tolerance", () => {
    const doc = bare([
      { symbol: "A", allocation: 0.5 },
      { symbol: "B", allocation: 0.506 },
    ]);
    expect(refusal(doc)).to.equal(
      "test: allocations: weights sum to 1.006, above 1 (tolerance 0.005)",
    );
  });

  it("refuses a weight outside [0, 1], naming its path", () => {
    const data = structuredClone(enveloped.data);
    data.allocations[2]!.allocation = 1.2;
    expect(refusal({ status: "success", data })).to.equal(
      "test: data.allocations[2].allocation: must be between 0 and 1, got 1.2",
    );
    expect(refusal(bare([{ symbol: "A", allocation: -0.1 }]))).to.equal(
      "test: allocations[0].allocation: must be between 0 and 1, got -0.1",
    );
  });

  it("refuses a missing or non-numeric weight", () => {
    expect(refusal(bare([{ symbol: "A" }]))).to.equal(
      "test: allocations[0].allocation: must be a number between 0 and 1, got nothing",
    );
    expect(refusal(bare([{ symbol: "A", allocation: "0.2" }]))).to.equal(
      'test: allocations[0].allocation: must be a number between 0 and 1, got "0.2"',
    );
  });

  it("refuses a missing symbol and a symbol listed twice", () => {
    expect(refusal(bare([{ allocation: 0.2 }]))).to.equal(
      "test: allocations[0].symbol: must be a ticker symbol, got nothing",
    );
    const twice = bare([
      { symbol: "QQQ", allocation: 0.2 },
      { symbol: "qqq", allocation: 0.2 },
    ]);
    expect(refusal(twice)).to.equal("test: allocations[1].symbol: QQQ appears more than once");
  });

  it("names every problem at once", () => {
    const doc = bare([{ symbol: "", allocation: 2 }, "EDC"]);
    expect(refusal(doc)).to.equal(
      'test: allocations[0].symbol: must be a ticker symbol, got ""; ' +
        "allocations[0].allocation: must be between 0 and 1, got 2; " +
        'allocations[1]: must be an object with symbol and allocation, got "EDC"',
    );
  });

  it("refuses an empty or missing list of allocations", () => {
    expect(refusal({ status: "success", data: { allocations: [] } })).to.equal(
      "test: data.allocations: empty; the source published no targets",
    );
    expect(refusal({ name: "etf-blend-301-20" })).to.equal(
      "test: allocations: required, a list of {symbol, allocation}, got nothing",
    );
  });

  it("refuses any status but success, with what the provider said", () => {
    expect(refusal({ status: "error", message: "strategy not found" })).to.equal(
      'test: status is "error", not "success" (the provider says: strategy not found)',
    );
    expect(refusal({ status: "pending", data: enveloped.data })).to.equal(
      'test: status is "pending", not "success"',
    );
  });

  it("refuses something that is not an object", () => {
    expect(refusal([1, 2])).to.equal('test: expected an object with "allocations", got a list');
    expect(refusal({ status: "success", data: null })).to.equal(
      'test: data: expected an object with "allocations", got null',
    );
  });

  it("refuses targets published for another strategy, unless told not to check", () => {
    const doc = { name: "etf-blend-200-35", allocations: [{ symbol: "TLT", allocation: 1 }] };
    expect(refusal(doc)).to.equal(
      'test: name: is "etf-blend-200-35" but the account\'s strategy is "etf-blend-301-20"; ' +
        "the source may publish another strategy",
    );
    expect(parseAllocations(doc, { ...options, checkName: false }).strategy).to.equal(
      "etf-blend-301-20",
    );
  });
});
