// The composition root as a process: refuses bad configuration, serves, drains on SIGTERM.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { until } from "@mesh/platform/testing/until";
import * as reflection from "@mesh/proto/grpc/reflection/v1/reflection";
import { Health } from "@mesh/proto/health/v1/health";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { freePort } from "@mesh/platform/testing/free-port";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Every process a test started: killed after each test, so a failing test leaves none behind. */
const started: ChildProcess[] = [];

function startMain(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH, LOG_LEVEL: "warn", METRICS_PORT: "0", ...env },
  });
  started.push(child);
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  child.stdout.on("data", (chunk) => (stdout += chunk));
  const exited = once(child, "exit").then(([code]) => ({ code: code as number, stderr, stdout }));
  return { child, exited, stdout: () => stdout };
}

/** A readable log line: local date, time and zone, level, service, message. */
const prettyLine =
  /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO \(rebalancer\): serving \{"url":"http:\/\/127\.0\.0\.1:\d+".*\}$/m;

describe("the rebalancer process", () => {
  afterEach(() => {
    for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });

  it("exits non-zero naming the bad variable, before serving anything", async () => {
    const { exited } = startMain({ TRADING_MODE: "real" });
    const { code, stderr } = await exited;
    expect(code).to.equal(1);
    expect(stderr).to.contain('TRADING_MODE: must be paper or live, got "real"');
  });

  it("exits non-zero naming API_PORT for a hexadecimal port, without a stack trace", async () => {
    const { code, stderr } = await startMain({ API_PORT: "0x46AE" }).exited;
    expect(code).to.equal(1);
    expect(stderr).to.contain('API_PORT: must be a whole number between 0 and 65535, got "0x46AE"');
    expect(stderr).not.to.match(/\n\s+at /);
  });

  it("refuses to start when an account's allocation file does not exist, naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "main-"));
    const accountsFile = join(dir, "accounts.yaml");
    writeFileSync(
      accountsFile,
      'accounts:\n  - { account_id: DU1, type: paper, strategy: nowhere-1, allocation_url: "file:missing.yaml" }\n',
    );
    const { code, stderr } = await startMain({ ACCOUNTS_FILE: accountsFile, DATA_DIR: dir }).exited;
    expect(code).to.equal(1);
    expect(stderr).to.contain("account DU1 (strategy nowhere-1)").and.contain("no such file");
    expect(stderr).not.to.match(/\n\s+at /);
  });

  it("serves, then on SIGTERM stops accepting and exits 0", async () => {
    const port = await freePort();
    const { child, exited } = startMain({
      API_PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
    });
    let status = 0;
    await until(
      async () => {
        status = await fetch(`http://127.0.0.1:${port}/health`).then(
          (res) => res.status,
          () => 0,
        );
        return status === 200;
      },
      20_000,
      "/health answering 200",
    ).catch(() => undefined); // the expectation below names the last status instead
    expect(status).to.equal(200);
    child.kill("SIGTERM");
    expect((await exited).code).to.equal(0);
  });

  it("keeps the simulated broker's books in DATA_DIR: a restart sees what a live run traded", async () => {
    const port = await freePort();
    const env = {
      API_PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
      SIM_FILL_DELAY_MS: "5",
    };
    const base = `http://127.0.0.1:${port}`;
    const serving = () =>
      until(
        () =>
          fetch(`${base}/health`).then(
            (res) => res.ok,
            () => false,
          ),
        20_000,
        "/health answering 200",
      );
    const positions = async () =>
      (
        (await (await fetch(`${base}/accounts/DU1000001/positions`)).json()) as {
          positions: { symbol: string; quantity: number }[];
        }
      ).positions.map((p) => `${p.symbol}:${p.quantity}`);

    const first = startMain(env);
    await serving();
    const bundled = await positions();
    const run = await fetch(`${base}/rebalance/DU1000001`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ execution_mode: "rebalance" }),
    });
    expect(((await run.json()) as { status: string }).status).to.match(/completed/i);
    const traded = await positions();
    expect(traded).not.to.deep.equal(bundled);
    first.child.kill("SIGTERM");
    expect((await first.exited).code).to.equal(0);

    const second = startMain(env);
    try {
      await serving();
      expect(await positions()).to.deep.equal(traded);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }).timeout(60_000);
  it("serves 50 gRPC calls as buf curl makes them (reflection, then the call) without a listener warning", async function () {
    this.timeout(60_000);
    const port = await freePort();
    const { child, exited } = startMain({
      API_PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const transport = createGrpcTransport({ baseUrl });
    const health = createClient(Health, transport);
    await until(
      () =>
        health.check({}).then(
          () => true,
          () => false,
        ),
      20_000,
      "the rebalancer serving gRPC",
    );
    const reflect = createClient(reflection.ServerReflection, transport);
    const api = createClient(RebalancerService, transport);
    async function* listServices() {
      yield create(reflection.ServerReflectionRequestSchema, {
        messageRequest: { case: "listServices", value: "" },
      });
    }
    for (let call = 0; call < 50; call++) {
      for await (const answer of reflect.serverReflectionInfo(listServices())) {
        expect(answer.messageResponse.case).to.equal("listServicesResponse");
      }
      await api.listAccounts({});
      await health.check({});
    }
    child.kill("SIGTERM");
    const { code, stderr } = await exited;
    expect(code).to.equal(0);
    expect(stderr).not.to.contain("MaxListenersExceededWarning");
  });

  describe("log lines", () => {
    async function logsOf(env: NodeJS.ProcessEnv): Promise<string> {
      const port = await freePort();
      const main = startMain({
        API_PORT: String(port),
        DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
        LOG_LEVEL: "info",
        ...env,
      });
      await until(async () => main.stdout().includes("serving"), 20_000, "the serving line");
      main.child.kill("SIGTERM");
      return (await main.exited).stdout;
    }

    it("are JSON objects, one a line, when stdout is not a terminal", async () => {
      const lines = (await logsOf({})).trim().split("\n");
      const serving = lines.map((line) => JSON.parse(line) as { msg: string; name: string });
      expect(
        serving.map((line) => line.msg),
        lines.join("\n"),
      ).to.include("serving");
      expect(serving.every((line) => line.name === "rebalancer")).to.equal(true);
    });

    it("are readable, with the local time, under LOG_FORMAT=pretty", async () => {
      const out = await logsOf({ LOG_FORMAT: "pretty" });
      expect(out).to.match(prettyLine);
      expect(out).not.to.match(/^\{/m);
    });

    it("are readable on a terminal without LOG_FORMAT", async () => {
      // script(1) gives the service a pseudo-terminal as stdout, as a person's shell does.
      const port = await freePort();
      const command = `exec ${process.execPath} --import tsx rebalancer/src/main.ts`;
      const child = spawn("script", ["-qefc", command, "/dev/null"], {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          API_PORT: String(port),
          METRICS_PORT: "0",
          DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
          NO_COLOR: "1",
        },
      });
      let out = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      const exited = once(child, "exit");
      await until(async () => out.includes("serving"), 20_000, "the serving line");
      // The service runs under script(1): stop it, and script ends with it.
      const service = execFileSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], {
        encoding: "utf8",
      });
      process.kill(Number(service.trim()), "SIGTERM");
      await exited;
      // eslint-disable-next-line no-control-regex
      const plain = out.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r/g, "");
      expect(plain, plain).to.match(prettyLine);
    });
  });

  it("warns once, naming the port and METRICS_PORT, when the metrics port is taken, and serves on", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const metricsPort = (taken.address() as { port: number }).port;
    try {
      const port = await freePort();
      const main = startMain({
        API_PORT: String(port),
        METRICS_PORT: String(metricsPort),
        DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
      });
      await until(
        () =>
          fetch(`http://127.0.0.1:${port}/health`).then(
            (res) => res.ok,
            () => false,
          ),
        20_000,
        "the rebalancer serving",
      );
      main.child.kill("SIGTERM");
      const { code, stdout } = await main.exited;
      expect(code).to.equal(0);
      const warnings = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((line) => line.msg.includes("metrics"));
      expect(warnings).to.have.length(1);
      expect(warnings[0]!.level).to.equal(40);
      expect(warnings[0]!.msg)
        .to.contain(`port ${metricsPort} is in use`)
        .and.contain("METRICS_PORT");
    } finally {
      taken.close();
    }
  });
});
