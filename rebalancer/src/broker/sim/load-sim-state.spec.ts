import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadAccounts } from "@mesh/platform/accounts";
import { expect } from "chai";
import { parse } from "yaml";
import {
  SimStateFileError,
  bundledSimStateFile,
  loadSimState,
  parseSimState,
} from "./load-sim-state.js";

const allocationsDir = fileURLToPath(new URL("../../../allocations/", import.meta.url));
const rootAccounts = fileURLToPath(new URL("../../../../accounts.yaml", import.meta.url));

function bundledTargets(): Map<string, string[]> {
  const targets = new Map<string, string[]>();
  for (const file of readdirSync(allocationsDir).filter((f) => f.endsWith(".yaml"))) {
    const doc = parse(readFileSync(allocationsDir + file, "utf8")) as {
      name: string;
      allocations: Array<{ symbol: string }>;
    };
    targets.set(
      doc.name,
      doc.allocations.map((a) => a.symbol),
    );
  }
  return targets;
}

function problemsOf(text: string): string[] {
  try {
    parseSimState(text, "sim.yaml");
  } catch (err) {
    expect(err).to.be.instanceOf(SimStateFileError);
    return (err as SimStateFileError).problems;
  }
  throw new Error("expected the state to be refused");
}

describe("the bundled simulation state", () => {
  const state = loadSimState(bundledSimStateFile);

  it("has the accounts of the root accounts.yaml", () => {
    const configured = loadAccounts(rootAccounts).accounts.map((a) => a.accountId);
    expect(state.accounts.map((a) => a.accountId)).to.deep.equal(configured);
  });

  it("prices every bundled target and the replacement targets VXX, PDBC and SPY", () => {
    const symbols = [...bundledTargets().values()].flat().concat("VXX", "PDBC", "SPY");
    for (const symbol of symbols) expect(state.prices, symbol).to.have.property(symbol).above(0);
  });

  it("gives each account cash, holdings among its targets and holdings outside them", () => {
    const targets = bundledTargets();
    for (const account of loadAccounts(rootAccounts).accounts) {
      const sim = state.accounts.find((a) => a.accountId === account.accountId)!;
      const wanted = targets.get(account.strategy)!;
      const held = sim.holdings.map((h) => h.symbol);
      expect(sim.cash, account.accountId).to.be.above(0);
      expect(
        held.some((s) => wanted.includes(s)),
        `${account.accountId} holds a target`,
      ).to.equal(true);
      expect(
        held.some((s) => !wanted.includes(s)),
        `${account.accountId} holds a non-target`,
      ).to.equal(true);
    }
  });
});

describe("parseSimState", () => {
  it("reads prices, cash and holdings, with USD and a zero average cost by default", () => {
    const state = parseSimState(
      "prices: { AAA: 10 }\naccounts:\n  - { account_id: DU1, cash: 5, holdings: [{ symbol: AAA, quantity: 2 }] }\n",
      "sim.yaml",
    );
    expect(state).to.deep.equal({
      currency: "USD",
      prices: { AAA: 10 },
      accounts: [
        { accountId: "DU1", cash: 5, holdings: [{ symbol: "AAA", quantity: 2, averageCost: 0 }] },
      ],
    });
  });

  it("names every problem with its path", () => {
    const text = `
currency: dollars
prices: { AAA: 0 }
accounts:
  - { account_id: DU1, cash: -1, holdings: [{ symbol: BBB, quantity: 0 }] }
  - { account_id: DU1, cash: 1 }
  - { account_id: DU1, cash: 1 }
`;
    expect(problemsOf(text)).to.deep.equal([
      "currency: must be a three-letter currency code such as USD",
      "prices.AAA: must be a number above 0",
      "accounts[0].cash: must be a number, at least 0",
      "accounts[0].holdings[0].symbol: BBB has no price in prices",
      "accounts[0].holdings[0].quantity: must be a number above 0",
      "accounts[2].account_id: duplicate account DU1",
    ]);
  });

  it("says when the file cannot be read", () => {
    expect(() => loadSimState("/nonexistent/sim.yaml")).to.throw(
      SimStateFileError,
      "/nonexistent/sim.yaml is invalid:\n  cannot read: ENOENT",
    );
  });
});
