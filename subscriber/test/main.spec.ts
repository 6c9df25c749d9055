import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { expect } from "chai";
import { startRebalancer } from "@mesh/rebalancer/app";
import { until } from "@mesh/platform/testing/until";
import { createRebalancerClient } from "../src/delivery/rebalancer-client.js";
import { openSqliteInbox } from "../src/inbox/sqlite-inbox.js";
import { startFakeRebalancer, type FakeRebalancer } from "./support/fake-rebalancer.js";
import { exited, freePort, spawnSubscriber } from "./support/subscriber-process.js";
import { getJson, postEvent, scratchDir, simAccountsYaml } from "./support/test-subscriber.js";

describe("the subscriber process (src/main.ts)", function () {
  this.timeout(30_000);
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await rebalancer.stop();
    scratch.remove();
  });

  it("delivers, after a restart, a message it acknowledged before being killed", async () => {
    const port = await freePort();
    const env = {
      ACCOUNTS_FILE: scratch.accountsFile,
      DATA_DIR: join(scratch.dir, "data"),
      SUBSCRIBER_PORT: String(port),
      REBALANCER_API_URL: rebalancer.url,
    };
    const url = `http://127.0.0.1:${port}`;
    // The run is accepted and then hangs: the subscriber is mid-delivery when it dies.
    rebalancer.behaviour = () => ({ kind: "hang" });
    const first = spawnSubscriber(env);
    children.push(first.child);
    await until(
      () =>
        getJson(`${url}/health`).then(
          () => true,
          () => false,
        ),
      15_000,
      "started",
    );
    const ack = await postEvent(url, "s2", { exec: "rebalance", eventId: "killed" });
    expect(ack.status).to.equal(202);
    await until(() => rebalancer.requests.length === 1, 5000, "delivery started");
    first.child.kill("SIGKILL");
    await exited(first.child);

    rebalancer.behaviour = () => ({ kind: "complete" });
    const second = spawnSubscriber(env);
    children.push(second.child);
    await until(
      async () => {
        const status = await getJson(`${url}/status`).catch(() => undefined);
        return (status?.body.inbox as { done?: number } | undefined)?.done === 1;
      },
      15_000,
      `delivered after restart; output:\n${second.output()}`,
    );
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "killed/DU003",
      "killed/DU003",
    ]);
    expect(rebalancer.runs.size).to.equal(1);

    second.child.kill("SIGTERM");
    expect(await exited(second.child)).to.equal(0);
    const inbox = openSqliteInbox(join(scratch.dir, "data", "subscriber-inbox.sqlite"));
    expect((await inbox.list())[0]).to.include({ state: "done", runId: "run-1", attempts: 2 });
    await inbox.close();
  });

  it("serves the event, delivery, inbox and RPC counters for Prometheus on METRICS_PORT", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const run = spawnSubscriber({
      ACCOUNTS_FILE: scratch.accountsFile,
      DATA_DIR: join(scratch.dir, "data"),
      SUBSCRIBER_PORT: String(port),
      REBALANCER_API_URL: rebalancer.url,
      METRICS_PORT: String(metricsPort),
    });
    children.push(run.child);
    const url = `http://127.0.0.1:${port}`;
    await until(
      () =>
        getJson(`${url}/health`).then(
          () => true,
          () => false,
        ),
      15_000,
      "started",
    );
    const event = { exec: "rebalance", eventId: "counted" };
    expect((await postEvent(url, "s2", event)).status).to.equal(202);
    await postEvent(url, "s2", event);
    expect((await postEvent(url, "s2", { exec: "nonsense" })).status).to.equal(422);
    await until(
      async () => ((await getJson(`${url}/status`)).body.inbox as { done: number }).done === 1,
      5000,
      "delivered",
    );

    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/);
    const text = await res.text();
    /** The value of the series of `name` whose labels include all of `labels`. */
    const value = (name: string, labels: Record<string, string> = {}) => {
      const series = text
        .split("\n")
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .find((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
      return series === undefined ? undefined : Number(series.split(" ").at(-1));
    };
    const s2 = { event_channel: "s2", event_source: "http" };
    expect(value("subscriber_events_received_total", s2), text).to.equal(3);
    expect(value("subscriber_events_duplicated_total", s2)).to.equal(1);
    expect(value("subscriber_events_rejected_total", s2)).to.equal(1);
    expect(value("subscriber_deliveries_total", { delivery_outcome: "done" })).to.equal(1);
    expect(value("subscriber_delivery_duration_count", { delivery_outcome: "done" })).to.equal(1);
    expect(value("subscriber_inbox_entries", { inbox_state: "done" })).to.equal(1);
    expect(value("subscriber_inbox_entries", { inbox_state: "rejected" })).to.equal(1);
    expect(value("subscriber_circuit_state", { circuit_state: "closed" })).to.equal(1);
    expect(value("subscriber_rebalancer_reachable")).to.equal(1);
    expect(
      value("rpc_client_requests_total", {
        rpc_method: "rebalancer.v1.RebalancerService/Rebalance",
        rpc_code: "ok",
      }),
    ).to.equal(1);
  });

  it("says it stops on SIGTERM through its logger, as JSON like every other line, and exits 0", async () => {
    const port = await freePort();
    const run = spawnSubscriber({
      ACCOUNTS_FILE: scratch.accountsFile,
      DATA_DIR: join(scratch.dir, "data"),
      SUBSCRIBER_PORT: String(port),
      REBALANCER_API_URL: rebalancer.url,
      LOG_LEVEL: "info",
    });
    children.push(run.child);
    await until(() => run.output().includes('"msg":"subscriber started"'), 15_000, "started");
    run.child.kill("SIGTERM");
    expect(await exited(run.child)).to.equal(0);
    expect(run.output()).not.to.contain("subscriber: SIGTERM");
    const stopping = run
      .output()
      .split("\n")
      .filter((line) => line.includes('"msg":"stopping"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(stopping).to.have.length(1);
    expect(stopping[0]).to.include({ name: "subscriber", signal: "SIGTERM", level: 30 });
  });

  it("refuses to start on a bad configuration, naming the variable, with a non-zero exit", async () => {
    const run = spawnSubscriber({ TRADING_MODE: "demo", ACCOUNTS_FILE: scratch.accountsFile });
    children.push(run.child);
    expect(await exited(run.child)).to.equal(2);
    expect(run.output()).to.match(/TRADING_MODE: must be paper or live/);
  });

  it("names what it cannot honour in one line, never a stack trace", async function () {
    // Seven cold starts at once on a busy machine.
    this.timeout(60_000);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    const file = join(scratch.dir, "a-file");
    writeFileSync(file, "");
    try {
      const cases: [Record<string, string>, RegExp][] = [
        [{ DELIVERY_CONCURRENCY: "1.5" }, /DELIVERY_CONCURRENCY: must be a whole number/],
        [{ SUBSCRIBER_PORT: "18071.5" }, /SUBSCRIBER_PORT: must be a whole number/],
        [{ SUBSCRIBER_PORT: "18071", METRICS_PORT: "18071" }, /METRICS_PORT: must differ/],
        [{ DATA_DIR: join(file, "data") }, /DATA_DIR: .* is a file/],
        [{ LOG_LEVEL: "verbose" }, /LOG_LEVEL: must be .*got "verbose"/],
        [{ SUBSCRIBER_PORT: String(port) }, /cannot start: .*EADDRINUSE/],
        [
          { DATABASE_URL: `postgres://mesh:pa55word@127.0.0.1:${await freePort()}/mesh` },
          /^subscriber: cannot start: inbox database postgres:\/\/mesh:\[redacted\]@127\.0\.0\.1:\d+\/mesh: /,
        ],
      ];
      // At once: seven cold starts one after the other take most of the timeout on a busy machine.
      const runs = cases.map(([env, message]) => {
        const run = spawnSubscriber({
          ACCOUNTS_FILE: scratch.accountsFile,
          DATA_DIR: join(scratch.dir, "data"),
          ...env,
        });
        children.push(run.child);
        return { env, message, run, code: exited(run.child) };
      });
      for (const { env, message, run, code } of runs) {
        expect(await code, JSON.stringify(env)).to.equal(2);
        expect(run.output()).to.match(message);
        expect(run.output()).not.to.match(/\n\s+at /);
        expect(run.output()).not.to.include("pa55word");
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
  it("warns once, naming the port and METRICS_PORT, when the metrics port is taken, and serves on", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const metricsPort = (taken.address() as { port: number }).port;
    try {
      const port = await freePort();
      const run = spawnSubscriber({
        ACCOUNTS_FILE: scratch.accountsFile,
        DATA_DIR: join(scratch.dir, "data"),
        SUBSCRIBER_PORT: String(port),
        REBALANCER_API_URL: rebalancer.url,
        METRICS_PORT: String(metricsPort),
        LOG_LEVEL: "info",
      });
      children.push(run.child);
      await until(
        () =>
          getJson(`http://127.0.0.1:${port}/status`).then(
            () => true,
            () => false,
          ),
        20_000,
        "the subscriber serving",
      );
      const warnings = run
        .output()
        .split("\n")
        .filter((line) => line.includes("metrics endpoint"));
      expect(warnings).to.have.length(1);
      const warning = JSON.parse(warnings[0]!) as { level: number; msg: string };
      expect(warning.level).to.equal(40);
      expect(warning.msg).to.contain(`port ${metricsPort} is in use`).and.contain("METRICS_PORT");
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe("the subscriber process with the real rebalancer (simulated broker)", function () {
  this.timeout(40_000);
  let scratch: ReturnType<typeof scratchDir>;
  const children: ChildProcess[] = [];
  let rebalancer: Awaited<ReturnType<typeof startRebalancer>> | undefined;

  beforeEach(() => {
    scratch = scratchDir();
    writeFileSync(scratch.accountsFile, simAccountsYaml(["DU1000002"]));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await rebalancer?.close(100);
    scratch.remove();
  });

  const startRebalancerAt = async (port: number) => {
    rebalancer = await startRebalancer({
      accountsFile: scratch.accountsFile,
      dataDir: join(scratch.dir, "rebalancer"),
      host: "127.0.0.1",
      port,
    });
    return rebalancer;
  };

  it("runs, exactly once, a message acknowledged while the rebalancer was down and the subscriber was then killed", async () => {
    const rebalancerPort = (await startRebalancerAt(0)).port;
    await rebalancer!.close(100);
    rebalancer = undefined;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      ACCOUNTS_FILE: scratch.accountsFile,
      DATA_DIR: join(scratch.dir, "data"),
      SUBSCRIBER_PORT: String(port),
      REBALANCER_API_URL: `http://127.0.0.1:${rebalancerPort}`,
    };
    const first = spawnSubscriber(env);
    children.push(first.child);
    await until(
      () =>
        getJson(`${url}/health`).then(
          () => true,
          () => false,
        ),
      15_000,
      "started",
    );
    const ack = await postEvent(url, "etf-blend-200-35", {
      exec: "rebalance",
      eventId: "kill-e2e",
    });
    expect(ack.status).to.equal(202);
    first.child.kill("SIGKILL");
    await exited(first.child);

    await startRebalancerAt(rebalancerPort);
    const second = spawnSubscriber(env);
    children.push(second.child);
    await until(
      async () => {
        const status = await getJson(`${url}/status`).catch(() => undefined);
        return (status?.body.inbox as { done?: number } | undefined)?.done === 1;
      },
      20_000,
      "delivered after restart",
    );
    const client = createRebalancerClient({ url: rebalancer!.url });
    try {
      const { runs } = await client.service.listRuns({ accountId: "DU1000002" });
      expect(runs).to.have.length(1);
      expect(runs[0]!.idempotencyKey).to.equal("kill-e2e/DU1000002");
    } finally {
      client.close();
    }
  });
});
