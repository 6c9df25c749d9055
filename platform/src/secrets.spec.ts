import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { readSecret } from "./secrets.js";

describe("readSecret", () => {
  it("prefers the file named by NAME_FILE and drops its trailing newline", () => {
    const file = join(mkdtempSync(join(tmpdir(), "secret-")), "key");
    writeFileSync(file, "s3cret\n");
    expect(readSecret({ KEY: "env", KEY_FILE: file }, "KEY")).to.equal("s3cret");
  });

  it("treats an empty file as unset", () => {
    const file = join(mkdtempSync(join(tmpdir(), "secret-")), "key");
    writeFileSync(file, "\n");
    expect(readSecret({ KEY_FILE: file }, "KEY")).to.equal(undefined);
  });

  it("falls back to NAME and treats an empty value as unset", () => {
    expect(readSecret({ KEY: "env" }, "KEY")).to.equal("env");
    expect(readSecret({ KEY: "" }, "KEY")).to.equal(undefined);
  });

  it("names the variable when the file cannot be read, without the secret", () => {
    expect(() => readSecret({ KEY_FILE: "/nonexistent/k" }, "KEY")).to.throw(
      "KEY_FILE: cannot read /nonexistent/k: ENOENT",
    );
  });
});
