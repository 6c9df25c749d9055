import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { until } from "@mesh/platform/testing/until";
import { readConfig } from "@mesh/rebalancer/config";
import { loadConfig } from "../../subscriber/src/config.js";
import { metricsUrls, readyBlock } from "../../scripts/start/ready-block.js";
import { subscriberEnvironment } from "../../scripts/start/subscriber-environment.js";
import { freePort } from "./support/replay-image.js";
import { repoRoot } from "./support/repo.js";

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

/** The bundled accounts, their allocation files named absolutely so the copy works anywhere. */
function accountsYamlFor(dir: string): string {
  const file = join(dir, "accounts.yaml");
  const bundled = readFileSync(join(repoRoot, "accounts.yaml"), "utf8");
  writeFileSync(file, bundled.replace("file:rebalancer/", `file:${repoRoot}/rebalancer/`));
  return file;
}

describe("npm start", function () {
  this.timeout(150_000);
  let dir: string;
  let npm: ChildProcess | undefined;
  let output = "";
  let spawned: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "npm-start-"));
    output = "";
  });

  afterEach(async () => {
    for (const pid of npm?.pid ? await descendantsOf(npm.pid) : []) spawned.push(pid);
    if (npm && npm.exitCode === null && npm.signalCode === null) {
      npm.kill("SIGKILL");
      await once(npm, "exit");
    }
    // A failed run must not leave services behind for the next test on this machine.
    for (const pid of spawned.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs npm with these arguments and variables (no metrics ports: others may hold them). */
  function startNpm(args: string[], env: NodeJS.ProcessEnv, cwd = repoRoot): ChildProcess {
    npm = spawn("npm", args, {
      cwd,
      env: { ...process.env, METRICS_PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    npm.stdout!.on("data", (chunk) => (output += chunk));
    npm.stderr!.on("data", (chunk) => (output += chunk));
    return npm;
  }

  /** A check for until() that fails at once, with the output, if npm exited. */
  const up = (started: ChildProcess, port: number) => async () => {
    if (started.exitCode !== null) throw new Error(`npm exited:\n${output}`);
    return listening(port);
  };

  const stopCases = [
    { signal: "SIGTERM", to: "npm" },
    { signal: "SIGINT", to: "npm" },
    { signal: "SIGHUP", to: "the launcher" },
  ] as const;
  for (const { signal, to } of stopCases) {
    it(`stops both services, leaving no process behind, on ${signal} to ${to}`, async () => {
      const apiPort = await freePort();
      const subscriberPort = await freePort();
      const started = startNpm(["start"], {
        API_PORT: String(apiPort),
        SUBSCRIBER_PORT: String(subscriberPort),
        DATA_DIR: dir,
      });
      await until(up(started, apiPort), 90_000, "the rebalancer up");
      await until(up(started, subscriberPort), 30_000, "the subscriber up");

      const descendants = await descendantsOf(started.pid!);
      spawned = descendants;
      expect(descendants.length).to.be.at.least(3);
      const launcher = await launcherPid(started.pid!);
      process.kill(to === "npm" ? started.pid! : launcher, signal);
      await until(async () => !(await listening(apiPort)), 20_000, "the rebalancer stopped");
      await until(async () => !(await listening(subscriberPort)), 20_000, "the subscriber stopped");
      // Every process started under npm (shell, launcher, both services) is gone, not reparented.
      await until(async () => descendants.every((pid) => !alive(pid)), 20_000, "no orphan");
    });
  }

  it("points the subscriber at this rebalancer's port with one of its keys, and says where everything is once healthy", async () => {
    const apiPort = await freePort();
    const subscriberPort = await freePort();
    const keys = ["k-first-0123456789", "k-second-0123456789"];
    const started = startNpm(["start"], {
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      SUBSCRIBER_PORT: String(subscriberPort),
      REBALANCER_API_KEYS: keys.join(","),
      REBALANCER_API_URL: "",
      REBALANCER_API_KEY: "",
      DATA_DIR: dir,
    });
    await until(
      async () => {
        if (started.exitCode !== null) throw new Error(`npm exited:\n${output}`);
        return output.includes("The rebalancer mesh is up and healthy.");
      },
      120_000,
      "the ready block",
    );
    const api = `http://127.0.0.1:${apiPort}`;
    const block = output.slice(output.indexOf("The rebalancer mesh is up"));
    expect(block).to.contain(`API      ${api}  (gRPC, Connect, gRPC-Web, REST)`);
    expect(block).to.contain(`console  ${api}/console/`);
    expect(block).to.contain(`ingress  http://127.0.0.1:${subscriberPort}/events/{strategy}`);
    expect(block).to.contain(
      `events   ${api}/console/#/events  (subscriber.v1.SubscriberService at http://127.0.0.1:${subscriberPort})`,
    );
    expect(block).to.contain("metrics  off (METRICS_PORT=0)");
    expect(block).to.contain("mode     paper trading on the simulated broker (sim)");
    expect(block).to.match(
      /auth {5}on: a bearer key from REBALANCER_API_KEYS \(2 configured\); the subscriber has its key/,
    );
    expect(block).to.contain(`try      curl -s -H "Authorization: Bearer $KEY" ${api}/accounts`);
    expect(output.split("The rebalancer mesh is up").length, "printed once").to.equal(2);

    // An event through the ingress runs at this rebalancer, the subscriber's key accepted.
    const posted = await fetch(`http://127.0.0.1:${subscriberPort}/events/etf-blend-301-20`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ exec: "print-rebalance", eventId: "follow-1" }),
    });
    expect(posted.status).to.equal(202);
    const runs = async () => {
      const res = await fetch(`${api}/accounts/DU1000001/runs`, {
        headers: { authorization: `Bearer ${keys[1]}` },
      });
      return ((await res.json()) as { runs: { trigger: { event_id: string } }[] }).runs;
    };
    await until(
      async () => (await runs()).some((run) => run.trigger.event_id === "follow-1"),
      30_000,
      "the event's run at this rebalancer",
    );

    // The console learns where the subscriber is, and the console's key and origin work there.
    const subscriber = `http://127.0.0.1:${subscriberPort}`;
    const settings = await fetch(`${api}/console/settings.json`);
    expect(await settings.json()).to.deep.equal({ subscriberUrl: subscriber });
    const listed = await fetch(`${subscriber}/subscriber.v1.SubscriberService/ListEntries`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${keys[1]}`,
        origin: api,
      },
      body: "{}",
    });
    expect(listed.status).to.equal(200);
    expect(listed.headers.get("access-control-allow-origin")).to.equal(api);
    const entries = ((await listed.json()) as { entries: { eventKey: string }[] }).entries;
    expect(entries.map((e) => e.eventKey)).to.include("follow-1");
    for (const key of keys) expect(output).not.to.contain(key);
  });

  it("-w rebalancer, run in another folder, reads ./accounts.yaml there and keeps its runs in ./data there", async () => {
    const apiPort = await freePort();
    mkdirSync(join(dir, "conf"));
    accountsYamlFor(join(dir, "conf"));
    const started = startNpm(
      ["--prefix", repoRoot, "start", "-w", "rebalancer"],
      { API_PORT: String(apiPort), ACCOUNTS_FILE: "conf/accounts.yaml", DATA_DIR: "" },
      dir,
    );
    await until(up(started, apiPort), 90_000, "the rebalancer up");
    const accounts = await fetch(`http://127.0.0.1:${apiPort}/accounts`);
    expect(accounts.status).to.equal(200);
    // With ACCOUNTS_FILE set, the run store is still ./data of the caller's folder.
    expect(existsSync(join(dir, "data", "runs.sqlite"))).to.equal(true);
    expect(existsSync(join(repoRoot, "rebalancer", "data"))).to.equal(false);
    started.kill("SIGTERM");
    await until(async () => !(await listening(apiPort)), 20_000, "the rebalancer stopped");
  });

  it("-w subscriber, run in another folder, reads ./accounts.yaml there and keeps its inbox in ./data there", async () => {
    const port = await freePort();
    accountsYamlFor(dir);
    const started = startNpm(
      ["--prefix", repoRoot, "start", "-w", "subscriber"],
      { SUBSCRIBER_PORT: String(port), ACCOUNTS_FILE: "", DATA_DIR: "" },
      dir,
    );
    await until(up(started, port), 90_000, "the subscriber up");
    expect(existsSync(join(dir, "data", "subscriber-inbox.sqlite"))).to.equal(true);
    expect(existsSync(join(repoRoot, "subscriber", "data"))).to.equal(false);
    started.kill("SIGTERM");
    await until(async () => !(await listening(port)), 20_000, "the subscriber stopped");
  });
});

describe("npm start's ready block", () => {
  it("names a metrics endpoint that is not served, the IBKR gateway and a subscriber without a key", () => {
    const env = {
      IBKR_HOST: "gw",
      IBKR_CLIENT_ID: "7",
      REBALANCER_API_KEYS: "k1",
      API_HOST: "0.0.0.0",
      ALLOW_PLAINTEXT: "true",
      REBALANCER_API_KEY_FILE: "/run/secrets/none",
    };
    const rebalancer = readConfig(env, "/srv");
    const subscriberEnv = subscriberEnvironment(env, rebalancer);
    expect(subscriberEnv.REBALANCER_API_URL).to.equal("http://127.0.0.1:8000");
    // A key file named for the subscriber is its own: the launcher gives it no other key.
    expect(subscriberEnv.REBALANCER_API_KEY).to.equal(undefined);
    const subscriber = loadConfig({ ...subscriberEnv, REBALANCER_API_KEY_FILE: "" }, "/srv");
    const [rebalancerMetrics] = metricsUrls({ rebalancer, subscriber });
    const block = readyBlock({
      rebalancer,
      subscriber,
      metricsServed: new Set([rebalancerMetrics!]),
    });
    expect(block).to.contain(
      "metrics  http://127.0.0.1:9464/metrics  http://127.0.0.1:9465/metrics (not served: see the warning above)",
    );
    expect(block).to.contain("mode     paper trading on IBKR at gw:4002 as client 7 (ibkr)");
    expect(block).to.contain("the subscriber has NO key (REBALANCER_API_KEY)");
    expect(block).not.to.contain("k1");
  });
});

describe("npm start's subscriber environment", () => {
  it("gives the subscriber's service the rebalancer's keys and lets the console's origins call it", () => {
    const env = { REBALANCER_API_KEYS: "k1,k2", API_HOST: "127.0.0.1", API_PORT: "8100" };
    const subscriberEnv = subscriberEnvironment(env, readConfig(env, "/srv"));
    expect(subscriberEnv.SUBSCRIBER_API_KEYS).to.equal("k1,k2");
    expect(subscriberEnv.SUBSCRIBER_CORS_ORIGINS).to.equal(
      "http://127.0.0.1:8100,http://localhost:8100",
    );
    const subscriber = loadConfig(subscriberEnv, "/srv");
    expect(subscriber.apiKeys).to.deep.equal(["k1", "k2"]);
    expect(subscriber.corsOrigins).to.deep.equal([
      "http://127.0.0.1:8100",
      "http://localhost:8100",
    ]);
  });

  it("keeps the subscriber's own keys and origins when they are set", () => {
    const env = {
      REBALANCER_API_KEYS: "k1",
      API_HOST: "127.0.0.1",
      SUBSCRIBER_API_KEYS: "ops",
      SUBSCRIBER_CORS_ORIGINS: "https://console.example",
    };
    const subscriberEnv = subscriberEnvironment(env, readConfig(env, "/srv"));
    expect(subscriberEnv).to.include({
      SUBSCRIBER_API_KEYS: "ops",
      SUBSCRIBER_CORS_ORIGINS: "https://console.example",
    });
  });
});

/** The launcher (node scripts/start.ts) among npm's descendants. */
async function launcherPid(npmPid: number): Promise<number> {
  for (const pid of await descendantsOf(npmPid)) {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    if (command.includes("scripts/start.ts")) return pid;
  }
  throw new Error("no launcher process under npm");
}
