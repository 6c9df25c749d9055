import { expect } from "chai";
import { applyReplacements } from "./apply-replacements.js";
import { refusal } from "./private/test-support.js";

const ira = [
  { source: "UVXY", target: "VXX", scale: 1.5 },
  { source: "DBC", target: "PDBC", scale: 1.0 },
];

describe("applyReplacements", () => {
  it("trades a source symbol as its target symbol with weight x scale", () => {
    const targets = applyReplacements(
      [
        { symbol: "UVXY", weight: 0.1 },
        { symbol: "QQQ", weight: 0.5 },
      ],
      ira,
    );
    expect(targets).to.have.length(2);
    expect(targets[0]).to.deep.equal({ symbol: "QQQ", weight: 0.5 });
    expect(targets[1].symbol).to.equal("VXX");
    expect(targets[1].weight).to.be.closeTo(0.15, 1e-12);
  });

  it("leaves targets without a replacement as they are, sorted by symbol", () => {
    const targets = applyReplacements(
      [
        { symbol: "TQQQ", weight: 0.3 },
        { symbol: "EDC", weight: 0.2 },
      ],
      [],
    );
    expect(targets).to.deep.equal([
      { symbol: "EDC", weight: 0.2 },
      { symbol: "TQQQ", weight: 0.3 },
    ]);
  });

  it("merges duplicates by summing their weights, including a target and a replacement", () => {
    const targets = applyReplacements(
      [
        { symbol: "VXX", weight: 0.1 },
        { symbol: "UVXY", weight: 0.2 },
        { symbol: "QQQ", weight: 0.1 },
        { symbol: "QQQ", weight: 0.2 },
      ],
      ira,
    );
    expect(targets.map((t) => t.symbol)).to.deep.equal(["QQQ", "VXX"]);
    expect(targets[0].weight).to.be.closeTo(0.3, 1e-12);
    expect(targets[1].weight).to.be.closeTo(0.4, 1e-12);
  });

  it("shrinks the other weights proportionally to absorb any excess above 1", () => {
    // UVXY 0.4 x 1.5 = 0.6 is kept; QQQ and EDC share the 0.4 left in their 3:1 ratio.
    const targets = applyReplacements(
      [
        { symbol: "UVXY", weight: 0.4 },
        { symbol: "QQQ", weight: 0.45 },
        { symbol: "EDC", weight: 0.15 },
      ],
      ira,
    );
    const weight = new Map(targets.map((t) => [t.symbol, t.weight]));
    expect(weight.get("VXX")).to.be.closeTo(0.6, 1e-12);
    expect(weight.get("QQQ")).to.be.closeTo(0.3, 1e-12);
    expect(weight.get("EDC")).to.be.closeTo(0.1, 1e-12);
  });

  it("leaves a sum below 1 alone: the shortfall stays in cash", () => {
    const targets = applyReplacements(
      [
        { symbol: "UVXY", weight: 0.2 },
        { symbol: "QQQ", weight: 0.3 },
      ],
      ira,
    );
    expect(targets.reduce((sum, t) => sum + t.weight, 0)).to.be.closeTo(0.6, 1e-12);
  });

  it("brings a sum within the 0.005 tolerance down to 1", () => {
    const targets = applyReplacements(
      [
        { symbol: "QQQ", weight: 0.503 },
        { symbol: "EDC", weight: 0.5 },
      ],
      [],
    );
    expect(targets.reduce((sum, t) => sum + t.weight, 0)).to.be.closeTo(1, 1e-12);
  });

  it("applies a replacement once, not transitively", () => {
    const targets = applyReplacements(
      [{ symbol: "A", weight: 0.5 }],
      [
        { source: "A", target: "B", scale: 1 },
        { source: "B", target: "C", scale: 1 },
      ],
    );
    expect(targets).to.deep.equal([{ symbol: "B", weight: 0.5 }]);
  });

  it("does not depend on the order of the targets", () => {
    const targets = [
      { symbol: "QQQ", weight: 0.1 },
      { symbol: "UVXY", weight: 0.3 },
      { symbol: "QQQ", weight: 0.2 },
      { symbol: "EDC", weight: 0.33 },
      { symbol: "VXX", weight: 0.07 },
    ];
    expect(applyReplacements([...targets].reverse(), ira)).to.deep.equal(
      applyReplacements(targets, ira),
    );
  });

  it("refuses replaced weights that alone sum above 1 (invalid_targets)", () => {
    const error = refusal(() => applyReplacements([{ symbol: "UVXY", weight: 0.8 }], ira));
    expect(error.code).to.equal("invalid_targets");
    expect(error.message).to.match(/replaced weights alone sum to 1\.2/);
  });

  describe("refuses invalid targets (invalid_targets), naming the problem", () => {
    const cases: Array<[string, Array<{ symbol: string; weight: number }>, RegExp]> = [
      ["an empty list", [], /no targets/],
      ["an empty symbol", [{ symbol: " ", weight: 0.1 }], /target #1 has an empty symbol/],
      ["a weight above 1", [{ symbol: "QQQ", weight: 1.2 }], /QQQ is 1\.2, outside \[0, 1\]/],
      ["a negative weight", [{ symbol: "QQQ", weight: -0.1 }], /QQQ is -0\.1, outside/],
      ["a NaN weight", [{ symbol: "QQQ", weight: NaN }], /QQQ is not a number/],
      [
        "weights summing above 1 + 0.005",
        [
          { symbol: "QQQ", weight: 0.6 },
          { symbol: "EDC", weight: 0.406 },
        ],
        /sum to 1\.006.*above 1 \(tolerance 0\.005\)/,
      ],
    ];
    for (const [what, targets, message] of cases) {
      it(`refuses ${what}`, () => {
        const error = refusal(() => applyReplacements(targets, []));
        expect(error.code).to.equal("invalid_targets");
        expect(error.message).to.match(message);
      });
    }
  });

  describe("refuses a malformed replacement set (invalid_input)", () => {
    const targets = [{ symbol: "UVXY", weight: 0.1 }];

    it("refuses a negative or non-finite scale", () => {
      for (const scale of [-1, NaN, Infinity]) {
        const error = refusal(() =>
          applyReplacements(targets, [{ source: "UVXY", target: "VXX", scale }]),
        );
        expect(error.code).to.equal("invalid_input");
        expect(error.message).to.contain("UVXY -> VXX has scale");
      }
    });

    it("refuses a source replaced two different ways", () => {
      const error = refusal(() =>
        applyReplacements(targets, [
          { source: "UVXY", target: "VXX", scale: 1.5 },
          { source: "UVXY", target: "VIXY", scale: 1 },
        ]),
      );
      expect(error.code).to.equal("invalid_input");
      expect(error.message).to.contain("UVXY is replaced two ways");
    });

    it("refuses an empty source or target", () => {
      expect(
        refusal(() => applyReplacements(targets, [{ source: "", target: "VXX", scale: 1 }])).code,
      ).to.equal("invalid_input");
      expect(
        refusal(() => applyReplacements(targets, [{ source: "UVXY", target: "", scale: 1 }])).code,
      ).to.equal("invalid_input");
    });
  });
});
