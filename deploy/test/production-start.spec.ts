import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import {
  freePort,
  replayImage,
  runHealthcheck,
  startImage,
  type ReplayedImage,
  type StartedService,
} from "./support/replay-image.js";
import { nodeServices, type NodeService } from "./support/repo.js";

// The images' production start commands, run from installs made the Dockerfiles' way (see
// support/replay-image.ts): production dependencies only, the files the Dockerfiles copy, the
// images' ENV, CMD and HEALTHCHECK. About 30 s when the npm cache is warm; set
// DEPLOY_TEST_BUILD_NATIVE=1 to compile better-sqlite3 as the image build does (about four minutes on two cores, both images compiling at once).

const buildNative = process.env.DEPLOY_TEST_BUILD_NATIVE === "1";
const apiKey = "deploy-test-key";

describe("the production start command, from a production-only install", function () {
  this.timeout(60_000);
  let dir: string;
  const images = {} as Record<NodeService, ReplayedImage>;
  const started: StartedService[] = [];

  before(async function () {
    this.timeout(buildNative ? 600_000 : 240_000);
    dir = mkdtempSync(join(tmpdir(), "deploy-images-"));
    await Promise.all(
      nodeServices.map(async (service) => {
        images[service] = await replayImage(service, { dir: join(dir, service), buildNative });
      }),
    );
  });

  afterEach(async () => {
    for (const service of started.splice(0)) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill("SIGKILL");
        await service.exited;
      }
    }
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a replayed image and waits until its own HEALTHCHECK passes. */
  async function startHealthy(
    service: NodeService,
    variables: Record<string, string>,
  ): Promise<StartedService> {
    const image = images[service];
    const running = startImage(image, variables);
    started.push(running);
    const deadline = Date.now() + 45_000;
    let last = "";
    while (Date.now() < deadline) {
      if (running.child.exitCode !== null) {
        throw new Error(`${service} exited ${running.child.exitCode}:\n${running.output()}`);
      }
      const check = await runHealthcheck(image, variables);
      if (check.healthy) return running;
      last = check.output;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`${service} never healthy; last check: ${last}\n${running.output()}`);
  }

  /** Sends SIGTERM (what `docker stop` and Kubernetes send) and returns the exit code. */
  async function stop(running: StartedService): Promise<number | string> {
    running.child.kill("SIGTERM");
    const timeout = new Promise<string>((resolve) =>
      setTimeout(resolve, 20_000, "still running 20 s after SIGTERM"),
    );
    return Promise.race([running.exited, timeout]);
  }

  function secretFile(name: string, content: string): string {
    const path = join(dir, name);
    writeFileSync(path, `${content}\n`);
    return path;
  }

  it("installs no dev dependency into either image", () => {
    for (const service of nodeServices) {
      const modules = join(images[service].workdir, "node_modules");
      const lock = JSON.parse(readFileSync(join(modules, ".package-lock.json"), "utf8")) as {
        packages: Record<string, { dev?: boolean }>;
      };
      const dev = Object.entries(lock.packages).filter(([, entry]) => entry.dev);
      expect(
        dev.map(([path]) => path),
        `${service}: dev packages`,
      ).to.deep.equal([]);
      for (const tool of ["mocha", "chai", "typescript", "eslint", "prettier", "@bufbuild/buf"]) {
        expect(lock.packages[`node_modules/${tool}`], `${service}: ${tool}`).to.equal(undefined);
      }
    }
  });

  it("rebalancer: starts, turns healthy through its HEALTHCHECK, exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const rebalancer = await startHealthy("rebalancer", {
      API_HOST: "127.0.0.1",
      API_PORT: String(port),
      METRICS_PORT: String(await freePort()),
      SHUTDOWN_GRACE_SECONDS: "5",
    });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.have.property("status", "serving");
    // The console bundle built in its own stage is in the image.
    const console = await fetch(`http://127.0.0.1:${port}/console/`);
    expect(console.status).to.equal(200);
    expect(await console.text()).to.contain("<html");
    expect(await stop(rebalancer), rebalancer.output()).to.equal(0);
  });

  it("subscriber: starts, turns healthy through its HEALTHCHECK, exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const subscriber = await startHealthy("subscriber", {
      SUBSCRIBER_HOST: "127.0.0.1",
      SUBSCRIBER_PORT: String(port),
      METRICS_PORT: String(await freePort()),
      // Nothing listens there: the subscriber must still be healthy and keep work in its inbox.
      REBALANCER_API_URL: `http://127.0.0.1:${await freePort()}`,
    });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).to.equal(200);
    expect(await stop(subscriber), subscriber.output()).to.equal(0);
  });

  it("carries an event from subscriber to rebalancer with keys from *_FILE secrets", async () => {
    // The compose wiring: the rebalancer accepts the keys in one secret file, the subscriber
    // sends the key in another; /health stays open for the health checks.
    const apiPort = await freePort();
    const rebalancer = await startHealthy("rebalancer", {
      API_HOST: "127.0.0.1",
      API_PORT: String(apiPort),
      METRICS_PORT: String(await freePort()),
      REBALANCER_API_KEYS_FILE: secretFile("rebalancer_api_keys", `${apiKey},an-older-key`),
    });
    const api = `http://127.0.0.1:${apiPort}`;
    expect((await fetch(`${api}/accounts`)).status, "reads need a key").to.equal(401);
    const authorized = await fetch(`${api}/accounts`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(authorized.status).to.equal(200);

    const ingressPort = await freePort();
    const subscriber = await startHealthy("subscriber", {
      SUBSCRIBER_HOST: "127.0.0.1",
      SUBSCRIBER_PORT: String(ingressPort),
      METRICS_PORT: String(await freePort()),
      REBALANCER_API_URL: api,
      REBALANCER_API_KEY_FILE: secretFile("rebalancer_api_key", apiKey),
    });
    const ingress = `http://127.0.0.1:${ingressPort}`;
    const event = await fetch(`${ingress}/events/etf-blend-301-20`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ exec: "print-rebalance", eventId: "deploy-test-1" }),
    });
    expect(event.status, await event.text()).to.equal(202);

    let inbox: Record<string, number> = {};
    await until(
      async () => {
        const status = (await (await fetch(`${ingress}/status`)).json()) as {
          inbox: Record<string, number>;
        };
        inbox = status.inbox;
        return (inbox.done ?? 0) >= 1 || (inbox.dead ?? 0) >= 1;
      },
      30_000,
      "the event delivered or dead-lettered",
    ).catch(() => undefined); // the expectation below shows what the inbox holds instead
    expect(inbox, subscriber.output()).to.include({ done: 1, dead: 0 });

    expect(await stop(subscriber), subscriber.output()).to.equal(0);
    expect(await stop(rebalancer), rebalancer.output()).to.equal(0);
  });
});
