import { IBApiNextError, type ErrorCode } from "@stoqey/ib";
import { expect } from "chai";
import { BrokerError } from "../broker-error.js";
import { brokerErrorFromIb, isIbWarning, toBrokerError } from "./ibkr-errors.js";

describe("IB error mapping", () => {
  it("maps 200 to no_such_symbol, permanent", () => {
    const error = brokerErrorFromIb(
      200,
      "No security definition has been found for the request",
      "price of XYZ",
    );
    expect(error).to.include({ code: "no_such_symbol", retryable: false, brokerCode: 200 });
    expect(error.message).to.equal(
      "price of XYZ: No security definition has been found for the request (IB 200)",
    );
  });

  it("maps 354 to no_market_data", () => {
    const error = brokerErrorFromIb(
      354,
      "Requested market data is not subscribed.",
      "price of VXUS",
    );
    expect(error).to.include({ code: "no_market_data", retryable: false });
  });

  it("maps 201 to order_rejected and keeps only IB's reason", () => {
    const error = brokerErrorFromIb(
      201,
      "Order rejected - reason:Insufficient buying power",
      "BUY 5 SPY",
    );
    expect(error).to.include({ code: "order_rejected", retryable: false, brokerCode: 201 });
    expect(error.message).to.equal("BUY 5 SPY: Insufficient buying power (IB 201)");
  });

  it("maps connectivity codes to unavailable, retryable", () => {
    for (const code of [326, 502, 504, 1100, 2110]) {
      expect(brokerErrorFromIb(code, "lost", "x"), String(code)).to.include({
        code: "unavailable",
        retryable: true,
      });
    }
  });

  it("maps codes it does not know to internal", () => {
    expect(brokerErrorFromIb(321, "Error validating request", "x")).to.include({
      code: "internal",
      retryable: false,
    });
  });

  it("converts the library's errors and passes BrokerErrors through", () => {
    const fromLibrary = toBrokerError(
      new IBApiNextError(new Error("No security definition"), 200 as ErrorCode, 4),
      "details of XYZ",
    );
    expect(fromLibrary).to.include({ code: "no_such_symbol", brokerCode: 200 });
    const own = new BrokerError("unknown_account", "account DU9 is not configured");
    expect(toBrokerError(own, "ignored")).to.equal(own);
    expect(toBrokerError(new Error("boom"), "quotes")).to.include({
      code: "internal",
      message: "quotes: boom",
    });
  });

  it("treats farm status, delayed-data notices and order warnings as warnings", () => {
    expect(isIbWarning(2104)).to.equal(true);
    expect(isIbWarning(10167)).to.equal(true);
    expect(
      isIbWarning(399, "Order Message: Warning: your order will not be placed until 09:30"),
    ).to.equal(true);
    expect(isIbWarning(201, "Order rejected")).to.equal(false);
  });
});
