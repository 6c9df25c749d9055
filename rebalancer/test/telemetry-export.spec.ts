// The rebalancer process with telemetry on: spans reach an OTLP/HTTP receiver, logs carry their
// trace id and no secret, and /metrics answers in Prometheus text format.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { freePort } from "@mesh/platform/testing/free-port";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the rebalancer's telemetry, as a process", () => {
  it("exports spans over OTLP, logs their trace id without secrets, and serves metrics", async () => {
    const exported: Buffer[] = [];
    const receiver = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (req.url === "/v1/traces") exported.push(Buffer.concat(chunks));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const otlpPort = (receiver.address() as { port: number }).port;
    const [apiPort, metricsPort] = [await freePort(), await freePort()];
    const key = "k3y-that-must-not-be-logged";
    const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        API_PORT: String(apiPort),
        API_HOST: "127.0.0.1",
        METRICS_PORT: String(metricsPort),
        DATA_DIR: mkdtempSync(join(tmpdir(), "otel-")),
        REBALANCER_API_KEYS: `${key},second-k3y`,
        ALLOCATIONS_API_KEY: "alloc-s3cret",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "rebalancer-under-test",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        LOG_LEVEL: "debug",
      },
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stdout += chunk));
    const exited = once(child, "exit");
    try {
      const base = `http://127.0.0.1:${apiPort}`;
      await until(
        async () => (await fetch(`${base}/health`).catch(() => undefined))?.status === 200,
        20_000,
        "/health answering 200",
      );
      const refused = await fetch(`${base}/rebalance/DU1000001/dry-run`, {
        method: "POST",
        headers: { authorization: "Bearer wrong-k3y" },
      });
      expect(refused.status).to.equal(401);
      const run = await fetch(`${base}/rebalance/DU1000001/dry-run`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
      });
      expect(run.status).to.equal(200);

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).to.match(
        /^rebalancer_runs_total\{run_mode="dry_run",run_status="COMPLETED"/m,
      );
      expect(metrics).to.match(
        /^rpc_server_requests_total\{rpc_method="rebalancer.v1.RebalancerService\/Rebalance",rpc_code="ok"/m,
      );
      expect(metrics).to.contain("# TYPE rpc_server_duration histogram");
    } finally {
      child.kill("SIGTERM");
      await exited;
      receiver.close();
    }
    // OTLP/JSON: resourceSpans[].scopeSpans[].spans[] with hex trace ids.
    type Otlp = {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
        scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }>;
      }>;
    };
    const batches = exported.map((body) => JSON.parse(body.toString()) as Otlp);
    const resources = batches.flatMap((b) => b.resourceSpans);
    const names = resources.flatMap((r) =>
      r.resource.attributes.filter((a) => a.key === "service.name").map((a) => a.value.stringValue),
    );
    expect(new Set(names)).to.deep.equal(new Set(["rebalancer-under-test"]));
    const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));

    const lines = stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const accepted = lines.find((line) => line.msg === "run accepted");
    expect(accepted?.trace_id).to.match(/^[0-9a-f]{32}$/);
    const runSpan = spans.find((span) => span.name === "rebalance.run");
    expect(runSpan?.traceId).to.equal(accepted!.trace_id);
    for (const secret of [key, "second-k3y", "alloc-s3cret", "wrong-k3y"]) {
      expect(stdout, `a log line contains ${secret}`).not.to.contain(secret);
    }
  });
});
