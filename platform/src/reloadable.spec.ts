import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { createReloadable } from "./reloadable.js";
import { until } from "./testing/until.js";

function parseNumber(file: string): () => number {
  return () => {
    const text = readFileSync(file, "utf8").trim();
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) throw new Error(`not a number: "${text}"`);
    return value;
  };
}

describe("createReloadable", () => {
  const dir = mkdtempSync(join(tmpdir(), "reloadable-"));

  it("fails at start when the material is unusable", () => {
    const file = join(dir, "bad");
    writeFileSync(file, "x");
    expect(() => createReloadable({ name: "n", files: [file], load: parseNumber(file) })).to.throw(
      /not a number/,
    );
  });

  it("reloads when the file is replaced by a rename, and calls onReload", async () => {
    const file = join(dir, "renamed");
    writeFileSync(file, "1");
    const seen: number[] = [];
    const material = createReloadable({
      name: "n",
      files: [file],
      load: parseNumber(file),
      onReload: (value) => seen.push(value),
    });
    try {
      writeFileSync(`${file}.tmp`, "2");
      renameSync(`${file}.tmp`, file);
      await until(() => material.current() === 2, 5000, "reloaded");
      expect(seen).to.deep.equal([2]);
      expect(material.health().ok).to.equal(true);
    } finally {
      material.close();
    }
  });

  it("keeps the previous material when a reload fails, and reports it until one succeeds", async () => {
    const file = join(dir, "failing");
    writeFileSync(file, "1");
    const material = createReloadable({ name: "n", files: [file], load: parseNumber(file) });
    try {
      writeFileSync(file, "garbage");
      await until(() => !material.health().ok, 5000, "failure reported");
      expect(material.current()).to.equal(1);
      expect(material.health().detail).to.match(/reload failed.*not a number/);
      writeFileSync(file, "3");
      expect(material.reload()).to.equal(true);
      expect(material.current()).to.equal(3);
      expect(material.health().ok).to.equal(true);
    } finally {
      material.close();
    }
  });
});
