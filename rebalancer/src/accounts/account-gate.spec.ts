import { parseAccounts } from "@mesh/platform/accounts";
import { expect } from "chai";
import { createAccountGate } from "./account-gate.js";
import { AccountRefusal } from "./account-refusal.js";

const { accounts } = parseAccounts(
  `
defaults:
  allocation_url: "file:rebalancer/allocations/{strategy}.yaml"
accounts:
  - { account_id: DU1, type: paper, strategy: etf-blend-301-20 }
  - { account_id: DU2, type: paper, strategy: etf-blend-301-20, enabled: false }
  - { account_id: U3, type: live, strategy: etf-blend-301-20 }
`,
  new URL("../../../accounts.yaml", import.meta.url).pathname,
);
const gate = createAccountGate({ accounts, tradingMode: "paper" });

function refusal(work: () => unknown): AccountRefusal {
  try {
    work();
  } catch (err) {
    if (err instanceof AccountRefusal) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("the account gate", () => {
  it("finds configured accounts and refuses an empty or unknown id, naming it", () => {
    expect(gate.account("DU1").accountId).to.equal("DU1");
    expect(refusal(() => gate.account(""))).to.include({
      code: "missing_account_id",
      message: "account_id is required",
    });
    expect(refusal(() => gate.account("NOPE"))).to.include({
      code: "unknown_account",
      message: "account NOPE is not configured",
    });
  });

  it("lets a live run or a cancel through only under the account's trading mode", () => {
    expect(() => gate.permit(gate.account("DU1"), "live run")).not.to.throw();
    expect(refusal(() => gate.permit(gate.account("U3"), "live run"))).to.include({
      code: "trading_mode",
      message: "live run refused: account U3 is live but TRADING_MODE is paper",
    });
    expect(refusal(() => gate.permit(gate.account("U3"), "cancel"))).to.include({
      code: "trading_mode",
      message: "cancel refused: account U3 is live but TRADING_MODE is paper",
    });
  });

  it("refuses a live run on a disabled account, but not a cancel", () => {
    expect(refusal(() => gate.permit(gate.account("DU2"), "live run"))).to.include({
      code: "disabled",
      message: "live run refused: account DU2 is disabled in accounts.yaml",
    });
    expect(() => gate.permit(gate.account("DU2"), "cancel")).not.to.throw();
    expect(accounts.map((a) => [a.accountId, gate.eligible(a)])).to.deep.equal([
      ["DU1", true],
      ["DU2", false],
      ["U3", false],
    ]);
  });
});
