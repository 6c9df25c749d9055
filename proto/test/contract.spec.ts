import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { getOption } from "@bufbuild/protobuf";
import { expect } from "chai";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { http } from "../gen/google/api/annotations_pb.js";
import { RebalancerService } from "../gen/rebalancer/v1/rebalancer_pb.js";
import { SubscriberService } from "../gen/subscriber/v1/subscriber_pb.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const buf = join(root, "node_modules/.bin/buf");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe("the contract", () => {
  it("declares every RPC with a google.api.http rule", () => {
    const rules = RebalancerService.methods.map((m) => {
      const rule = getOption(m, http);
      return [m.name, rule.pattern.case, rule.pattern.value] as const;
    });
    expect(rules).to.deep.equal([
      ["ListAccounts", "get", "/accounts"],
      ["GetPositions", "get", "/accounts/{account_id}/positions"],
      ["GetAccountValue", "get", "/accounts/{account_id}/value"],
      ["GetTargets", "get", "/accounts/{account_id}/targets"],
      ["Rebalance", "post", "/rebalance/{account_id}"],
      ["GetRun", "get", "/runs/{run_id}"],
      ["ListRuns", "get", "/accounts/{account_id}/runs"],
      ["WatchRuns", "get", "/runs:watch"],
      ["ListOpenOrders", "get", "/accounts/{account_id}/orders"],
      ["CancelOpenOrders", "post", "/accounts/{account_id}/orders:cancel"],
      ["GetHealth", "get", "/health"],
    ]);
    const rebalance = getOption(RebalancerService.method.rebalance, http);
    expect(rebalance.additionalBindings.map((b) => b.pattern.value)).to.deep.equal([
      "/rebalance/{account_id}/dry-run",
    ]);
  });

  it("marks every read as free of side effects", () => {
    const reads = RebalancerService.methods
      .filter((m) => m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS)
      .map((m) => m.name);
    expect(reads).to.have.members([
      "ListAccounts",
      "GetPositions",
      "GetAccountValue",
      "GetTargets",
      "GetRun",
      "ListRuns",
      "WatchRuns",
      "ListOpenOrders",
      "GetHealth",
    ]);
  });

  it("says of each SubscriberService method whether a retry is safe", () => {
    const levels = SubscriberService.methods.map((m) => [
      m.name,
      MethodOptions_IdempotencyLevel[m.idempotency],
    ]);
    // AcknowledgeGap answers a repeat with the gap unchanged, so a client may retry it.
    expect(levels).to.deep.equal([
      ["ListEntries", "NO_SIDE_EFFECTS"],
      ["ListDeadLetters", "NO_SIDE_EFFECTS"],
      ["RedriveDeadLetter", "IDEMPOTENCY_UNKNOWN"],
      ["DiscardDeadLetter", "IDEMPOTENCY_UNKNOWN"],
      ["ListGaps", "NO_SIDE_EFFECTS"],
      ["AcknowledgeGap", "IDEMPOTENT"],
    ]);
  });

  it("passes buf lint", () => {
    execFileSync(buf, ["lint"], { cwd: root, stdio: "pipe" });
  });

  it("has generated code identical to what `npm run generate` produces", () => {
    const out = mkdtempSync(join(tmpdir(), "gen-"));
    try {
      execFileSync(buf, ["generate", "-o", out], { cwd: root, stdio: "pipe" });
      const fresh = join(out, "proto/gen");
      const committed = join(root, "proto/gen");
      const names = (dir: string) =>
        files(dir)
          .map((f) => relative(dir, f))
          .sort();
      expect(names(fresh)).to.deep.equal(names(committed));
      for (const name of names(fresh)) {
        const same =
          readFileSync(join(fresh, name), "utf8") === readFileSync(join(committed, name), "utf8");
        expect(same, `proto/gen/${name} is stale: run npm run generate`).to.equal(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
