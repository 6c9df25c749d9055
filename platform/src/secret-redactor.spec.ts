import { expect } from "chai";
import { createSecretRedactor } from "./secret-redactor.js";

describe("createSecretRedactor", () => {
  const secret = 'k3y/with "quote" & space';
  const { redact } = createSecretRedactor([secret, undefined]);

  for (const [form, text] of [
    ["plain", secret],
    ["JSON-escaped", JSON.stringify(secret)],
    ["JSON-escaped twice", JSON.stringify(JSON.stringify(secret))],
    ["URL-encoded", encodeURIComponent(secret)],
    ["URL-encoded in lower case", encodeURIComponent(secret).toLowerCase()],
    ["form-encoded", new URLSearchParams({ k: secret }).toString()],
  ] as const) {
    it(`removes the ${form} form`, () => {
      const out = redact(`before ${text} after`);
      expect(out).to.contain("[redacted]").and.contain("before ").and.contain(" after");
      expect(out).not.to.contain("k3y");
    });
  }

  it("leaves text without secrets alone, and ignores secrets too short to be keys", () => {
    expect(createSecretRedactor(["ab"]).redact("abc ab")).to.equal("abc ab");
    expect(redact("nothing here")).to.equal("nothing here");
  });
});
