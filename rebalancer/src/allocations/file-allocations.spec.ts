import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAccounts, parseAccounts, type Account } from "@mesh/platform/accounts";
import { expect } from "chai";
import { AllocationError } from "./allocation-error.js";
import { createFileAllocations } from "./file-allocations.js";

const bundled = fileURLToPath(new URL("../../allocations/", import.meta.url));
const rootAccounts = fileURLToPath(new URL("../../../accounts.yaml", import.meta.url));

function account(path: string, strategy = "etf-blend-301-20"): Account {
  const yaml = `accounts: [{ account_id: DU1, strategy: ${strategy}, allocation_url: "file:${path}" }]`;
  return parseAccounts(yaml, "test.yaml").accounts[0]!;
}

function scratch(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "allocations-")), name);
  writeFileSync(file, text);
  return file;
}

async function failure(promise: Promise<unknown>): Promise<AllocationError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AllocationError);
    return err as AllocationError;
  }
  throw new Error("expected the read to fail");
}

describe("createFileAllocations", () => {
  it("reads the bundled targets of both accounts in the shipped accounts.yaml", async () => {
    const allocations = createFileAllocations();
    const [first, second] = loadAccounts(rootAccounts).accounts;
    const blend301 = await allocations.targets(first!);
    expect(blend301.strategy).to.equal("etf-blend-301-20");
    expect(blend301.asOf).to.equal("2025-06-24");
    expect(blend301.targets).to.deep.equal([
      { symbol: "EDC", weight: 0.2141 },
      { symbol: "QLD", weight: 0.1779 },
      { symbol: "QQQ", weight: 0.141 },
      { symbol: "BTAL", weight: 0.2817 },
      { symbol: "SPXL", weight: 0.0368 },
      { symbol: "TQQQ", weight: 0.1475 },
    ]);
    const blend200 = await allocations.targets(second!);
    expect(blend200.targets.map((t) => t.symbol)).to.deep.equal([
      "SPXL",
      "UVXY",
      "DBC",
      "TLT",
      "GLD",
    ]);
  });

  it("finds <strategy>.yaml when the path is a directory", async () => {
    const result = await createFileAllocations().targets(account(bundled, "etf-blend-200-35"));
    expect(result.strategy).to.equal("etf-blend-200-35");
  });

  it("reads the API's enveloped answer saved as JSON", async () => {
    const file = scratch(
      "etf-blend-301-20.json",
      JSON.stringify({
        status: "success",
        data: {
          name: "etf-blend-301-20",
          as_of: "2025-07-01",
          allocations: [{ symbol: "QQQ", allocation: 1 }],
        },
      }),
    );
    const result = await createFileAllocations().targets(account(file));
    expect(result).to.deep.equal({
      strategy: "etf-blend-301-20",
      asOf: "2025-07-01",
      targets: [{ symbol: "QQQ", weight: 1 }],
    });
  });

  it("reads the file again on every call, so edits apply to the next run", async () => {
    const file = scratch("s.yaml", "allocations: [{ symbol: QQQ, allocation: 1 }]\n");
    const allocations = createFileAllocations();
    expect((await allocations.targets(account(file))).targets[0]!.symbol).to.equal("QQQ");
    writeFileSync(file, "allocations: [{ symbol: SPY, allocation: 1 }]\n");
    expect((await allocations.targets(account(file))).targets[0]!.symbol).to.equal("SPY");
  });

  it("validates like the API: bad weights are refused with the file and the path", async () => {
    const file = scratch(
      "bad.yaml",
      "allocations:\n  - { symbol: QQQ, allocation: 0.6 }\n  - { symbol: SPY, allocation: 1.6 }\n",
    );
    const err = await failure(createFileAllocations().targets(account(file)));
    expect(err.code).to.equal("invalid");
    expect(err.message).to.equal(
      `${file}: allocations[1].allocation: must be between 0 and 1, got 1.6`,
    );
  });

  it("says which file is missing", async () => {
    const err = await failure(createFileAllocations().targets(account("/nonexistent/x.yaml")));
    expect(err.code).to.equal("unavailable");
    expect(err.message).to.equal("cannot read allocations file /nonexistent/x.yaml: no such file");
  });

  it("says which strategy file a directory lacks", async () => {
    const err = await failure(
      createFileAllocations().targets(account(bundled, "no-such-strategy")),
    );
    expect(err.message).to.match(
      /^no allocations file for strategy no-such-strategy in .*allocations/,
    );
  });

  it("refuses a file that is not YAML or not JSON", async () => {
    const yaml = scratch("broken.yaml", "allocations: [unclosed\n");
    expect((await failure(createFileAllocations().targets(account(yaml)))).message).to.match(
      new RegExp(`^${yaml}: not valid YAML: `),
    );
    const json = scratch("broken.json", "{ allocations: ");
    const err = await failure(createFileAllocations().targets(account(json)));
    expect(err.code).to.equal("invalid");
    expect(err.message).to.match(new RegExp(`^${json}: not valid JSON: `));
  });

  it("refuses a file published for another strategy", async () => {
    const err = await failure(
      createFileAllocations().targets(account(join(bundled, "etf-blend-200-35.yaml"))),
    );
    expect(err.message).to.include(
      'name: is "etf-blend-200-35" but the account\'s strategy is "etf-blend-301-20"',
    );
  });

  it("stays healthy and tells what the last read did", async () => {
    const allocations = createFileAllocations();
    await failure(allocations.targets(account("/nonexistent/x.yaml")));
    expect(allocations.health()).to.deep.equal({
      ok: true,
      detail:
        "local files; the last read failed: cannot read allocations file /nonexistent/x.yaml: no such file",
    });
  });
});
