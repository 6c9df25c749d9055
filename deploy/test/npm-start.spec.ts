import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { until } from "@mesh/platform/testing/until";
import { freePort } from "./support/replay-image.js";

/** Whether something accepts TCP connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The pids of every process below the given one. */
async function descendantsOf(root: number): Promise<number[]> {
  const ps = spawn("ps", ["-eo", "pid=,ppid="], { stdio: ["ignore", "pipe", "ignore"] });
  let list = "";
  ps.stdout.on("data", (chunk) => (list += chunk));
  await once(ps, "exit");
  const pairs = list
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number));
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of pairs) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Whether a process with this pid still exists (and is not a zombie awaiting its parent). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start", function () {
  this.timeout(120_000);
  let dir: string;
  let npm: ChildProcess | undefined;
  let spawned: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "npm-start-"));
  });

  afterEach(async () => {
    if (npm && npm.exitCode === null && npm.signalCode === null) {
      npm.kill("SIGKILL");
      await once(npm, "exit");
    }
    // A failed run must not leave services behind for the next test on this machine.
    for (const pid of spawned.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops both services, leaving no process behind, on SIGTERM to npm", async () => {
    const apiPort = await freePort();
    const subscriberPort = await freePort();
    let output = "";
    npm = spawn("npm", ["start"], {
      env: {
        ...process.env,
        API_PORT: String(apiPort),
        SUBSCRIBER_PORT: String(subscriberPort),
        REBALANCER_API_URL: `http://127.0.0.1:${apiPort}`,
        METRICS_PORT: "0",
        DATA_DIR: dir,
        INBOX_FILE: join(dir, "inbox.db"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    npm.stdout!.on("data", (chunk) => (output += chunk));
    npm.stderr!.on("data", (chunk) => (output += chunk));
    const started = npm;
    const up = (port: number) => async () => {
      if (started.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
      return listening(port);
    };
    await until(up(apiPort), 90_000, "the rebalancer up");
    await until(up(subscriberPort), 30_000, "the subscriber up");

    const descendants = await descendantsOf(npm.pid!);
    spawned = descendants;
    expect(descendants.length).to.be.at.least(3);
    npm.kill("SIGTERM");
    await until(async () => !(await listening(apiPort)), 20_000, "the rebalancer stopped");
    await until(async () => !(await listening(subscriberPort)), 20_000, "the subscriber stopped");
    // Every process started under npm (shell, launcher, both services) is gone, not reparented.
    await until(async () => descendants.every((pid) => !alive(pid)), 20_000, "no orphan");
  });
});
