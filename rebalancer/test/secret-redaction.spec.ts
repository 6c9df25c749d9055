import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { toJsonString } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createLogger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  RebalanceResponseSchema,
  RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createSimBroker } from "../src/broker/sim/sim-broker.js";

// Its core survives every encoding, so finding the core anywhere is a leak.
const core = "9ZX7secretcore42";
const allocationsKey = `sk/${core}"q"&x`;
const apiKey = "api-key-for-this-test";

describe("secrets from a provider's answer", () => {
  let provider: http.Server;
  let app: RunningRebalancer;
  let dataDir: string;
  const logs: string[] = [];

  before(async () => {
    // The provider echoes the key in its message, plainly, JSON-escaped and URL-encoded.
    provider = http.createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          status: "error",
          message: `key ${allocationsKey} / ${JSON.stringify(allocationsKey)} / ${encodeURIComponent(allocationsKey)} is not subscribed`,
        }),
      );
    });
    provider.listen(0, "127.0.0.1");
    await once(provider, "listening");
    const { port } = provider.address() as AddressInfo;
    dataDir = mkdtempSync(join(tmpdir(), "redaction-"));
    const accountsFile = join(dataDir, "accounts.yaml");
    writeFileSync(
      accountsFile,
      `accounts:\n  - { account_id: DU1000001, type: paper, strategy: etf-blend-301-20, allocation_url: "http://127.0.0.1:${port}/allocations/{strategy}" }\n`,
    );
    app = await startRebalancer({
      accountsFile,
      dataDir,
      broker: createSimBroker({ fillDelayMs: 5 }),
      apiKeys: [apiKey],
      allocationsApiKey: allocationsKey,
      logger: createLogger({
        name: "rebalancer",
        level: "trace",
        secrets: [allocationsKey, apiKey],
        destination: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logs.push(chunk.toString("utf8"));
            done();
          },
        }),
      }),
    });
  });
  after(async () => {
    await app.close(1_000);
    provider.close();
  });

  it("reach no stream, error, run record, listing, store file or log line", async () => {
    const headers = { authorization: `Bearer ${apiKey}` };
    const grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    const seen: string[] = [];
    for await (const event of grpc.rebalance(
      { accountId: "DU1000001", mode: ExecutionMode.DRY_RUN, idempotencyKey: "leak-1" },
      { headers },
    )) {
      seen.push(toJsonString(RebalanceResponseSchema, event));
    }
    expect(seen.join("\n"), "the run failed on the provider's answer").to.contain("not subscribed");
    const runId = JSON.parse(seen[0]!).runId as string;

    const targets = await grpc.getTargets({ accountId: "DU1000001" }, { headers }).then(
      () => "",
      (err: unknown) => ConnectError.from(err).rawMessage,
    );
    expect(targets).to.contain("not subscribed");
    seen.push(targets);
    for (const path of [`/runs/${runId}`, "/accounts/DU1000001/runs", "/health"]) {
      const res = await fetch(`${app.url}${path}`, { headers });
      seen.push(await res.text());
    }
    const store = readdirSync(dataDir)
      .filter((name) => name.startsWith("runs.sqlite"))
      .map((name) => readFileSync(join(dataDir, name)).toString("latin1"));
    expect(store.join("")).to.contain(runId);

    for (const [where, text] of [
      ["answers", seen.join("\n")],
      ["store", store.join("")],
      ["logs", logs.join("")],
    ] as const) {
      expect(text, where).not.to.contain(core);
      expect(text, where).not.to.contain(apiKey);
    }
    expect(seen.join("\n")).to.contain("[redacted]");
  });
});
