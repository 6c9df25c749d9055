// The benchmark harness must not rot: CI runs the quick set and checks that every benchmark ran
// and produced numbers. The figures themselves are not checked; the machines are too noisy.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import type { BenchReport } from "./bench-report.js";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const sections = [
  "planning",
  "rpc-overhead",
  "event-to-order",
  "run-recording",
  "preflight",
  "fan-out",
  "fan-out-replicas",
  "footprint",
  "notify",
];

// The quick set takes about a minute on an idle machine; the bound leaves room for a shared one.
describe("npm run bench -- --quick", function () {
  this.timeout(300_000);
  let dir: string;
  let report: BenchReport;
  let table: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "bench-spec-"));
    const out = join(dir, "bench.json");
    table = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "bench/run.ts", "--quick", "--out", out],
        { cwd: repoRoot, timeout: 290_000, maxBuffer: 4 * 1024 * 1024 },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`the quick set failed: ${err.message}\n${stderr}`))
            : resolve(stdout),
      );
    });
    report = JSON.parse(readFileSync(out, "utf8")) as BenchReport;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every benchmark, in order, without a failure", () => {
    expect(report.failures).to.deep.equal([]);
    expect(report.quick).to.equal(true);
    expect(report.sections.map((s) => s.id)).to.deep.equal(sections);
  });

  it("gives every figure a median, a baseline and a ratio, all numbers", () => {
    for (const section of report.sections) {
      expect(section.figures, section.id).to.have.length.above(0);
      for (const figure of section.figures) {
        const where = `${section.id}: ${figure.name}`;
        for (const value of [figure.median, figure.baseline.median, figure.ratio]) {
          expect(Number.isFinite(value), where).to.equal(true);
        }
        for (const value of [figure.p99, figure.baseline.p99]) {
          if (value !== undefined) expect(Number.isFinite(value), where).to.equal(true);
        }
        expect(figure.samples, where).to.be.at.least(1);
        expect(figure.baseline.name, where).to.not.equal("");
      }
    }
  });

  it("prints the figures as one table", () => {
    for (const section of sections) expect(table).to.include(`| ${section}`);
  });
});
