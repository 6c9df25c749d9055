import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import { startRebalancer } from "@mesh/rebalancer/app";
import { until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../src/app.js";
import { openSqliteInbox } from "../src/inbox/sqlite-inbox.js";
import { startFakeRebalancer, type FakeRebalancer } from "./support/fake-rebalancer.js";
import {
  answering,
  exited,
  freePort,
  spawnSubscriber,
  type RunningProcess,
} from "./support/subscriber-process.js";
import {
  postEvent,
  scratchDir,
  simAccountsYaml,
  testConfig,
  testLogger,
} from "./support/test-subscriber.js";

interface Health {
  status: string;
  components: Record<string, string>;
  problems?: string[];
}

async function health(url: string, key?: string): Promise<{ code: number; body: Health }> {
  const res = await fetch(`${url}/health`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  return { code: res.status, body: (await res.json()) as Health };
}

async function status(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/status`)).json()) as Record<string, unknown>;
}

describe("the subscriber's health, process-level, against the real rebalancer", function () {
  // Three processes start at once on shared cores.
  this.timeout(90_000);
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: Awaited<ReturnType<typeof startRebalancer>> | undefined;
  const children: ChildProcess[] = [];

  const startRebalancerAt = async (port: number, apiKeys: string[] = []) => {
    rebalancer = await startRebalancer({
      accountsFile: scratch.accountsFile,
      dataDir: join(scratch.dir, "rebalancer"),
      host: "127.0.0.1",
      port,
      apiKeys,
    });
    return rebalancer;
  };
  /** A subscriber process with its own inbox, calling the rebalancer at `api`. */
  const spawn = async (name: string, api: string, env: Record<string, string> = {}) => {
    const port = await freePort();
    const run: RunningProcess = spawnSubscriber({
      ACCOUNTS_FILE: scratch.accountsFile,
      DATA_DIR: join(scratch.dir, name),
      SUBSCRIBER_PORT: String(port),
      REBALANCER_API_URL: api,
      ...env,
    });
    children.push(run.child);
    const url = `http://127.0.0.1:${port}`;
    return { url, run, started: () => answering(url, run, 40_000) };
  };

  beforeEach(() => {
    scratch = scratchDir();
    writeFileSync(scratch.accountsFile, simAccountsYaml(["DU1000001", "DU1000002"]));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await rebalancer?.close(100);
    rebalancer = undefined;
    scratch.remove();
  });

  it("is ok when the rebalancer accepts the key, and degraded naming a wrong or missing key", async () => {
    const { url: api } = await startRebalancerAt(0, ["right-key"]);
    const good = await spawn("good", api, { REBALANCER_API_KEY: "right-key" });
    const wrong = await spawn("wrong", api, { REBALANCER_API_KEY: "wrong-key" });
    const none = await spawn("none", api);
    await Promise.all([good.started(), wrong.started(), none.started()]);

    expect(await health(good.url)).to.deep.equal({
      code: 200,
      body: {
        status: "ok",
        components: {
          inbox: "up",
          realtime: "disabled",
          rebalancer: "up",
          circuit: "up",
          backlog: "up",
          continuity: "disabled",
        },
      },
    });

    // Without the key, a caller sees only up or down per component.
    const refused = await health(wrong.url);
    expect(refused.code, "events are still taken in").to.equal(200);
    expect(refused.body).to.deep.include({ status: "degraded" });
    expect(refused.body.components).to.include({ rebalancer: "down", inbox: "up" });
    expect(refused.body).not.to.have.property("problems");
    const detailed = await health(wrong.url, "wrong-key");
    expect(detailed.body.problems).to.deep.equal([
      "rebalancer refuses the subscriber's key (Unauthenticated: the API key sent for ListAccounts is not accepted): set REBALANCER_API_KEY to one of the rebalancer's REBALANCER_API_KEYS; events wait in the inbox",
    ]);
    // With no key configured, callers on loopback see the details.
    const missing = await health(none.url);
    expect(missing.body.status).to.equal("degraded");
    expect(missing.body.problems![0]).to.match(
      /^rebalancer refuses the subscriber's key \(Unauthenticated: ListAccounts needs an API key/,
    );

    const event = { exec: "print-rebalance", eventId: "key-check" };
    expect((await postEvent(good.url, "etf-blend-301-20", event)).status).to.equal(202);
    expect((await postEvent(wrong.url, "etf-blend-301-20", event)).status).to.equal(202);
    await until(
      async () => ((await status(good.url)).inbox as { done: number }).done === 1,
      20_000,
      "delivered with the right key",
    );
    // The refused delivery keeps the entry and the reason.
    await until(
      async () => ((await status(wrong.url)).inbox as { pending: number }).pending === 1,
      20_000,
      "kept with the wrong key",
    );
    expect((await health(wrong.url, "wrong-key")).body.problems![0]).to.match(
      /^rebalancer refuses the subscriber's key \(Unauthenticated: /,
    );
    expect((await health(good.url)).body.status).to.equal("ok");
  });

  it("is degraded while the rebalancer is down: its circuit open, the longest wait named", async () => {
    const port = (await startRebalancerAt(0)).port;
    await rebalancer!.close(100);
    rebalancer = undefined;
    const down = await spawn("down", `http://127.0.0.1:${port}`, { HEALTH_PENDING_MAX_AGE: "1" });
    await down.started();
    for (const [channel, eventId] of [
      ["etf-blend-301-20", "down-1"],
      ["etf-blend-200-35", "down-2"],
    ]) {
      const res = await postEvent(down.url, channel!, { exec: "print-rebalance", eventId });
      expect(res.status).to.equal(202);
    }
    await until(async () => (await status(down.url)).circuit === "open", 30_000, "circuit open");
    await until(
      async () => (await health(down.url)).body.components.backlog === "down",
      10_000,
      "waiting over HEALTH_PENDING_MAX_AGE",
    );
    const report = await health(down.url);
    expect(report.code).to.equal(200);
    expect(report.body).to.deep.include({ status: "degraded" });
    expect(report.body.components).to.deep.include({
      inbox: "up",
      rebalancer: "down",
      circuit: "down",
      backlog: "down",
    });
    const problems = report.body.problems!;
    expect(problems[0]).to.match(
      /^rebalancer unreachable at http:\/\/127\.0\.0\.1:\d+: Unavailable: .*; events wait in the inbox$/,
    );
    expect(problems[1]).to.match(
      /^delivery circuit open: deliveries wait in the inbox; one is tried 30 s after it opened$/,
    );
    expect(problems[2]).to.match(
      /^entry \d \(DU100000\d, event down-\d\) has waited \d+ s for delivery, over HEALTH_PENDING_MAX_AGE=1 s(: Unavailable: .*)?$/,
    );

    // Back: the probe finds it at once; the circuit stays open until its half-open try.
    await startRebalancerAt(port);
    await until(
      async () => (await health(down.url)).body.components.rebalancer === "up",
      15_000,
      "rebalancer reachable again",
    );
    expect((await health(down.url)).body.components.circuit).to.equal("down");
  });
});

describe("the subscriber's health, in process", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let subscriber: Subscriber | undefined;

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    await subscriber?.close();
    subscriber = undefined;
    await rebalancer.stop();
    scratch.remove();
  });

  it("is failing (503) while the inbox cannot write, naming why, and ok once it can", async () => {
    const config = testConfig(scratch.dir, rebalancer.url);
    const inbox = openSqliteInbox(config.inboxFile, { busyTimeoutMs: 50 });
    subscriber = await startSubscriber(config, { logger: testLogger, inbox });
    expect((await health(subscriber.url)).body.status).to.equal("ok");
    const lock = new Database(config.inboxFile);
    lock.exec("BEGIN IMMEDIATE");
    try {
      const report = await health(subscriber.url);
      expect(report.code).to.equal(503);
      expect(report.body).to.deep.include({ status: "failing" });
      expect(report.body.components.inbox).to.equal("down");
      expect(report.body.problems).to.deep.equal(["inbox cannot record: database is locked"]);
      const res = await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "locked" });
      expect(res.status, "not recorded, so not acknowledged").to.equal(500);
    } finally {
      lock.exec("ROLLBACK");
      lock.close();
    }
    expect(await health(subscriber.url)).to.deep.include({ code: 200 });
  });

  it("forgets a refused key once the key file changes, and says again with the next answer", async () => {
    await rebalancer.stop();
    rebalancer = await startFakeRebalancer({ apiKey: "new-key" });
    const keyFile = join(scratch.dir, "api-key");
    writeFileSync(keyFile, "old-key\n");
    const config = testConfig(scratch.dir, rebalancer.url);
    config.rebalancer.apiKeyFile = keyFile;
    subscriber = await startSubscriber(config, { logger: testLogger });
    const url = subscriber.url;
    expect((await health(url)).body.components.rebalancer).to.equal("down");
    expect(subscriber.status().rebalancer.authorized).to.equal(false);
    writeFileSync(keyFile, "new-key\n");
    await until(() => subscriber!.status().rebalancer.authorized === undefined, 5000, "forgotten");
    await postEvent(url, "s2", { exec: "rebalance", eventId: "after-rotation" });
    await until(async () => (await subscriber!.inbox.counts()).done === 1, 5000, "delivered");
    expect(subscriber.status().rebalancer.authorized).to.equal(true);
    expect((await health(url)).body.status).to.equal("ok");
  });
});
