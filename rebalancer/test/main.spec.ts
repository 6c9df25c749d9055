// The composition root as a process: refuses bad configuration, serves, drains on SIGTERM.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { freePort } from "@mesh/platform/testing/free-port";

const root = fileURLToPath(new URL("../..", import.meta.url));

function startMain(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH, LOG_LEVEL: "warn", METRICS_PORT: "0", ...env },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = once(child, "exit").then(([code]) => ({ code: code as number, stderr }));
  return { child, exited };
}

describe("the rebalancer process", () => {
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
});
