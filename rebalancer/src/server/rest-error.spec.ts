import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "chai";
import { restError } from "./rest-error.js";

describe("restError", () => {
  const cases: [Code, number, string][] = [
    [Code.InvalidArgument, 400, "invalid_argument"],
    [Code.Unauthenticated, 401, "unauthenticated"],
    [Code.PermissionDenied, 403, "permission_denied"],
    [Code.NotFound, 404, "not_found"],
    [Code.AlreadyExists, 409, "already_exists"],
    [Code.Aborted, 409, "aborted"],
    [Code.FailedPrecondition, 412, "failed_precondition"],
    [Code.ResourceExhausted, 429, "resource_exhausted"],
    [Code.Canceled, 499, "canceled"],
    [Code.Internal, 500, "internal"],
    [Code.Unimplemented, 501, "unimplemented"],
    [Code.Unavailable, 503, "unavailable"],
    [Code.DeadlineExceeded, 504, "deadline_exceeded"],
  ];
  for (const [code, status, name] of cases) {
    it(`maps ${name} to ${status}, keeping the message without the code prefix`, () => {
      expect(restError(new ConnectError("account DU9 is not configured", code))).to.deep.equal({
        status,
        body: { code: name, message: "account DU9 is not configured" },
      });
    });
  }

  it("hides the text of an error that is no ConnectError", () => {
    expect(restError(new Error("SQLITE_CANTOPEN /var/secret/path"))).to.deep.equal({
      status: 500,
      body: { code: "internal", message: "internal error" },
    });
  });
});
