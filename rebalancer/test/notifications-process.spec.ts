// The rebalancer process configured from its environment (NOTIFY_URLS_FILE, NOTIFY_MAX_RETRY_DELAY)
// notifies a live run to a receiver that was down: retried, sent once, each attempt a `notify`
// span, the counters on /metrics, and the URL's credentials in no log line.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@mesh/platform/testing/free-port";
import { startNotificationReceiver } from "@mesh/platform/testing/notification-receiver";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("run notifications from the rebalancer process", function () {
  this.timeout(40_000);

  it("retries a receiver that is down, then sends once, traced, counted and without secrets in its logs", async () => {
    const exported: string[] = [];
    const otlp = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        if (req.url === "/v1/traces") exported.push(body);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    otlp.listen(0, "127.0.0.1");
    await once(otlp, "listening");
    const otlpPort = (otlp.address() as { port: number }).port;
    const receiver = await startNotificationReceiver({ down: true });
    const dataDir = mkdtempSync(join(tmpdir(), "notify-process-"));
    const urlsFile = join(dataDir, "notify-urls");
    writeFileSync(
      urlsFile,
      `http://ops:s3cret-pass@127.0.0.1:${receiver.port}/hook?token=t0ken-value\n`,
    );
    const [apiPort, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        API_PORT: String(apiPort),
        API_HOST: "127.0.0.1",
        METRICS_PORT: String(metricsPort),
        DATA_DIR: dataDir,
        SIM_FILL_DELAY_MS: "5",
        NOTIFY_URLS_FILE: urlsFile,
        NOTIFY_MAX_RETRY_DELAY: "1s",
        CONSOLE_URL: "https://ops.example.com",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        LOG_LEVEL: "debug",
        LOG_FORMAT: "json",
      },
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stdout += chunk));
    const exited = once(child, "exit");
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    try {
      const base = `http://127.0.0.1:${apiPort}`;
      await until(
        async () => (await fetch(`${base}/health`).catch(() => undefined))?.status === 200,
        20_000,
        "/health answering 200",
      );
      const run = await fetch(`${base}/rebalance/DU1000001`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ mode: "live" }),
      });
      expect(run.status).to.equal(200);
      const { run_id: runId } = (await run.json()) as { run_id: string };

      await until(
        async () => /^rebalancer_notifications_retried_total\{[^}]*\} [2-9]/m.test(await metrics()),
        10_000,
        "two retries counted",
      );
      await receiver.start();
      await until(() => receiver.received.length === 1, 10_000, "the notification received");
      await until(
        async () =>
          /^rebalancer_notifications_sent_total\{notify_format="json"[^}]*\} 1$/m.test(
            await metrics(),
          ),
        5000,
        "the notification counted as sent",
      );
      const [request] = receiver.received;
      expect(request!.path).to.equal("/hook?token=t0ken-value");
      expect(JSON.parse(request!.body)).to.include({
        id: `${runId}:completed`,
        consoleUrl: `https://ops.example.com/console/#/runs/${runId}`,
      });
    } finally {
      child.kill("SIGTERM");
      await exited;
      otlp.close();
      await receiver.stop();
    }
    expect(receiver.received).to.have.length(1);

    type Otlp = {
      resourceSpans: Array<{
        scopeSpans: Array<{
          spans: Array<{
            name: string;
            traceId: string;
            attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string } }>;
          }>;
        }>;
      }>;
    };
    const spans = exported
      .map((body) => JSON.parse(body) as Otlp)
      .flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    const attempts = spans
      .filter((span) => span.name === "notify")
      .map((span) =>
        Number(span.attributes.find((a) => a.key === "notify.attempt")?.value.intValue),
      );
    expect(attempts.length).to.be.at.least(3);
    expect(attempts.sort((a, b) => a - b).slice(0, 3)).to.deep.equal([1, 2, 3]);
    const target = spans
      .find((span) => span.name === "notify")!
      .attributes.find((a) => a.key === "notify.target")?.value.stringValue;
    expect(target).to.equal(`http://[redacted]@127.0.0.1:${receiver.port}/hook?token=[redacted]`);
    // The attempts belong to the run's trace, as children of where it ended.
    const runTrace = spans.find((span) => span.name === "rebalance.run")?.traceId;
    expect(runTrace).to.match(/^[0-9a-f]{32}$/);
    const notifyTraces = new Set(spans.filter((s) => s.name === "notify").map((s) => s.traceId));
    expect([...notifyTraces]).to.deep.equal([runTrace]);

    expect(stdout).to.contain("notification not delivered; will retry");
    expect(stdout).to.contain("notification sent");
    for (const secret of ["s3cret-pass", "t0ken-value"]) {
      expect(stdout, `a log line contains ${secret}`).not.to.contain(secret);
    }
  });
});
