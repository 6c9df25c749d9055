// The composition root as a process: refuses bad configuration, serves, drains on SIGTERM.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { freePort } from "./support/free-port.js";

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

  it("serves, then on SIGTERM stops accepting and exits 0", async () => {
    const port = await freePort();
    const { child, exited } = startMain({
      API_PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), "main-")),
    });
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = await fetch(`http://127.0.0.1:${port}/health`).then(
        (res) => res.status,
        () => 0,
      );
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).to.equal(200);
    child.kill("SIGTERM");
    expect((await exited).code).to.equal(0);
  });
});
