import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { AccountsFileError, eligibleAccounts, loadAccounts, parseAccounts } from "./accounts.js";

const shipped = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

function problemsOf(text: string): string[] {
  try {
    parseAccounts(text, "bad.yaml");
  } catch (err) {
    expect(err).to.be.instanceOf(AccountsFileError);
    return (err as AccountsFileError).problems;
  }
  throw new Error("expected the file to be refused");
}

const valid = `
defaults:
  allocation_url: "https://alloc.example/strategies/{strategy}"
replacement_sets:
  ira:
    - { source: UVXY, target: VXX, scale: 1.5 }
accounts:
  - { account_id: DU1, type: paper, strategy: etf-blend-200-35 }
  - { account_id: U2, type: live, strategy: etf-blend-301-20, replacement_set: ira, cash_reserve_percent: 5 }
`;

describe("accounts.yaml", () => {
  it("loads the shipped example: two paper accounts on two strategies, one with the ira set", () => {
    const config = loadAccounts(shipped);
    expect(config.accounts.map((a) => [a.accountId, a.type, a.strategy])).to.deep.equal([
      ["DU1000001", "paper", "etf-blend-301-20"],
      ["DU1000002", "paper", "etf-blend-200-35"],
    ]);
    expect(config.accounts[1]!.replacements.map((r) => r.source)).to.include("UVXY");
    expect(config.accounts[0]!.allocations.kind).to.equal("file");
  });

  it("applies defaults and fills the strategy into the URL template", () => {
    const [paper, live] = parseAccounts(valid, "a.yaml").accounts;
    expect(paper!.allocations).to.deep.equal({
      kind: "http",
      url: "https://alloc.example/strategies/etf-blend-200-35",
    });
    expect(paper!.settings.cashReservePercent).to.equal(0);
    expect(live!.settings.cashReservePercent).to.equal(5);
    expect(live!.replacements).to.deep.equal([{ source: "UVXY", target: "VXX", scale: 1.5 }]);
  });

  it("preflights every account unless it says preflight: off (on, off, true and false read as written)", () => {
    const text = (setting: string) =>
      valid.replace("cash_reserve_percent: 5", `cash_reserve_percent: 5, ${setting}`);
    const preflight = (setting: string) =>
      parseAccounts(text(setting), "a.yaml").accounts.map((a) => a.settings.preflight);
    expect(parseAccounts(valid, "a.yaml").accounts.map((a) => a.settings.preflight)).to.deep.equal([
      true,
      true,
    ]);
    expect(preflight("preflight: off")).to.deep.equal([true, false]);
    expect(preflight("preflight: false")).to.deep.equal([true, false]);
    expect(preflight("preflight: on")).to.deep.equal([true, true]);
    const byDefault = `defaults:\n  preflight: off\n${valid.replace("defaults:\n", "")}`;
    expect(
      parseAccounts(byDefault, "a.yaml").accounts.map((a) => a.settings.preflight),
    ).to.deep.equal([false, false]);
    expect(problemsOf(text("preflight: maybe"))).to.deep.equal([
      "accounts[1].preflight: must be on or off",
    ]);
  });

  it("names the file, the path and the problem of a bad field", () => {
    const text = valid.replace("cash_reserve_percent: 5", "cash_reserve_percent: 150");
    expect(problemsOf(text)).to.deep.equal([
      "accounts[1].cash_reserve_percent: must be between 0 and 100",
    ]);
    const dir = mkdtempSync(join(tmpdir(), "accounts-"));
    const file = join(dir, "accounts.yaml");
    writeFileSync(file, text);
    expect(() => loadAccounts(file)).to.throw(
      `${file} is invalid:\n  accounts[1].cash_reserve_percent: must be between 0 and 100`,
    );
  });

  it("reports every problem at once", () => {
    const problems = problemsOf(`
accounts:
  - { account_id: "", type: demo, strategy: X Y, replacement_set: roth, colour: red }
  - { account_id: DU1, strategy: s, allocation_url: "ftp://x" }
  - { account_id: DU1, strategy: s, allocation_url: "file:a.yaml", order_type: stop }
`);
    expect(problems).to.deep.equal([
      "accounts[0].colour: unknown key",
      "accounts[0].account_id: required, must be a non-empty string",
      'accounts[0].type: must be paper or live, got "demo"',
      "accounts[0].strategy: must be lower-case letters, digits and hyphens",
      'accounts[0].replacement_set: no replacement set named "roth"',
      "accounts[0].allocations: no allocation URL for this account and no defaults.allocation_url",
      'accounts[1].allocations: must start with http://, https:// or file:, got "ftp://x"',
      "accounts[2].order_type: must be market, limit or market_on_close",
    ]);
  });

  it("refuses duplicate accounts, bad replacement sets and non-YAML", () => {
    expect(
      problemsOf(`
defaults: { allocation_url: "file:x.yaml" }
replacement_sets: { ira: [{ source: uvxy, target: VXX, scale: -1 }] }
accounts: [{ account_id: A1, strategy: s }, { account_id: A1, strategy: t }]
`),
    ).to.deep.equal([
      'replacement_sets.ira[0].source: must be an upper-case ticker symbol, got "uvxy"',
      "replacement_sets.ira[0].scale: must be a number above 0 and at most 10",
      "accounts[1].account_id: duplicate account A1",
    ]);
    expect(problemsOf("accounts: [")[0]).to.match(/^not valid YAML/);
    expect(problemsOf("accounts: []")).to.deep.equal(["accounts: must be a non-empty list"]);
  });

  it("accepts the older list form with notification.channel and allocations.url", () => {
    const config = parseAccounts(
      `
- account_id: DU9
  notification: { channel: etf-blend-200-35 }
  allocations: { url: "http://127.0.0.1:9/{strategy}" }
`,
      "old.yaml",
    );
    expect(config.accounts[0]).to.include({
      accountId: "DU9",
      strategy: "etf-blend-200-35",
      type: "paper",
    });
    expect(config.accounts[0]!.allocations).to.deep.equal({
      kind: "http",
      url: "http://127.0.0.1:9/etf-blend-200-35",
    });
  });

  it("takes part only with accounts that are enabled and of the trading mode's type", () => {
    const config = parseAccounts(
      valid.replace(
        "{ account_id: DU1, type: paper",
        "{ account_id: DU1, type: paper, enabled: false",
      ),
      "a.yaml",
    );
    expect(eligibleAccounts(config, "paper")).to.deep.equal([]);
    expect(eligibleAccounts(config, "live").map((a) => a.accountId)).to.deep.equal(["U2"]);
  });
});
