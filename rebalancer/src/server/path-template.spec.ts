import { expect } from "chai";
import { compilePathTemplate } from "./path-template.js";

describe("compilePathTemplate", () => {
  it("binds a single-segment variable, percent-decoded", () => {
    const template = compilePathTemplate("/accounts/{account_id}/positions");
    expect(template.variables).to.deep.equal(["account_id"]);
    expect(template.match("/accounts/DU%20111/positions")).to.deep.equal(
      new Map([["account_id", "DU 111"]]),
    );
    expect(template.match("/accounts/DU1/value")).to.equal(undefined);
    expect(template.match("/accounts//positions")).to.equal(undefined);
    expect(template.match("/accounts/a/b/positions")).to.equal(undefined);
  });

  it("matches a verb after the last segment", () => {
    const template = compilePathTemplate("/accounts/{account_id}/orders:cancel");
    expect(template.match("/accounts/DU1/orders:cancel")?.get("account_id")).to.equal("DU1");
    expect(template.match("/accounts/DU1/orders")).to.equal(undefined);
  });

  it("keeps a trailing literal apart from the variable before it", () => {
    const live = compilePathTemplate("/rebalance/{account_id}");
    const dryRun = compilePathTemplate("/rebalance/{account_id}/dry-run");
    expect(live.match("/rebalance/DU1/dry-run")).to.equal(undefined);
    expect(dryRun.match("/rebalance/DU1/dry-run")?.get("account_id")).to.equal("DU1");
  });

  it("supports nested field paths, wildcards and multi-segment variables", () => {
    const template = compilePathTemplate("/v1/{trigger.source=sources/*}/*/{rest=**}:go");
    expect(template.variables).to.deep.equal(["trigger.source", "rest"]);
    expect(template.match("/v1/sources/rest/x/a/b%2Fc:go")).to.deep.equal(
      new Map([
        ["trigger.source", "sources/rest"],
        ["rest", "a/b%2Fc"],
      ]),
    );
  });

  it("treats regular-expression characters in literals literally", () => {
    expect(compilePathTemplate("/a.b").match("/aXb")).to.equal(undefined);
    expect(compilePathTemplate("/a.b").match("/a.b")).to.deep.equal(new Map());
  });

  it("refuses malformed templates with the position of the problem", () => {
    expect(() => compilePathTemplate("accounts")).to.throw(/expected "\/" at position 0/);
    expect(() => compilePathTemplate("/a/{b")).to.throw(/expected "}"/);
    expect(() => compilePathTemplate("/a/{b={c}}")).to.throw(/variables cannot nest/);
    expect(() => compilePathTemplate("/a/{}")).to.throw(/expected a field path/);
  });

  it("answers invalid_argument for a malformed percent-encoding", () => {
    expect(() => compilePathTemplate("/runs/{run_id}").match("/runs/%E0%A4%A")).to.throw(
      /malformed percent-encoding/,
    );
  });
});
