import { expect } from "chai";
import { PlanError } from "./plan-error.js";

describe("PlanError", () => {
  it("is an Error carrying a code and a message a human can act on", () => {
    const error = new PlanError("missing_price", "no price for QQQ");
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal("PlanError");
    expect(error.code).to.equal("missing_price");
    expect(error.message).to.equal("no price for QQQ");
  });
});
