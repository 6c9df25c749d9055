import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import * as Ably from "ably";
import Database from "better-sqlite3";
import { expect } from "chai";
import { stays, until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import type { HealthConfig, RealtimeConfig } from "../../src/config.js";
import type { Gap } from "../../src/inbox/gap-store.js";
import { openSqliteInbox } from "../../src/inbox/sqlite-inbox.js";
import { startAblyEmulator, type AblyEmulator } from "../ably-emulator/ably-emulator.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import {
  answering,
  exited,
  freePort,
  spawnScript,
  spawnSubscriber,
} from "../support/subscriber-process.js";
import { scratchDir, testConfig, testLogger } from "../support/test-subscriber.js";

describe("Ably continuity: every gap recovered or reported (real SDK against the emulator)", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let emulator: AblyEmulator;
  let rest: Ably.Rest;
  const running: Subscriber[] = [];

  const start = async (
    realtime: Partial<RealtimeConfig> = {},
    options: Parameters<typeof startSubscriber>[1] = {},
    health: Partial<HealthConfig> = {},
  ) => {
    const { endpoint, port } = emulator.clientOptions();
    const config = testConfig(scratch.dir, rebalancer.url, {
      realtime: { key: emulator.key, endpoint, port, ...realtime },
      health,
    });
    const subscriber = await startSubscriber(config, { logger: testLogger, ...options });
    running.push(subscriber);
    return subscriber;
  };
  const publish = (eventId: string) =>
    rest.channels.get("s2").publish("event", { exec: "rebalance", eventId });
  const attached = (subscriber: Subscriber) =>
    until(() => subscriber.status().realtime.channels.s2?.state === "attached", 5000, "attached");
  const done = async (subscriber: Subscriber) => (await subscriber.inbox.counts()).done;
  const keys = () => rebalancer.requests.map((r) => r.idempotencyKey);
  const noOpenGap = (subscriber: Subscriber) =>
    until(async () => (await subscriber.inbox.gaps.counts()).open === 0, 5000, "no open gap");
  const gapsOf = async (subscriber: Subscriber, cause: Gap["cause"]) =>
    (await subscriber.inbox.gaps.list()).filter((g) => g.cause === cause && g.channel === "s2");
  /**
   * Cuts the connection and keeps it down; Ably forgets it, so the re-attach will not resume.
   * Returns how to let it back, resolving once s2 re-attached and recorded its gap.
   */
  const cut = async (subscriber: Subscriber) => {
    const before = (await gapsOf(subscriber, "not resumed")).length;
    emulator.refuseResumes(true);
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => subscriber.status().realtime.state !== "connected", 5000, "disconnected");
    return {
      reconnect: async () => {
        emulator.refuseConnections(false);
        await until(
          async () => (await gapsOf(subscriber, "not resumed")).length > before,
          5000,
          "re-attached without resume",
        );
        return (await gapsOf(subscriber, "not resumed"))[0]!;
      },
    };
  };
  /** A running subscriber that has delivered `seen` and recovered its start-up gaps. */
  const settled = async (
    realtime: Partial<RealtimeConfig> = {},
    health: Partial<HealthConfig> = {},
  ) => {
    const subscriber = await start(realtime, {}, health);
    await attached(subscriber);
    await publish("seen");
    await until(async () => (await done(subscriber)) === 1, 5000, "seen delivered");
    await noOpenGap(subscriber);
    return subscriber;
  };

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000 });
    rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
  });
  afterEach(async () => {
    for (const subscriber of running.splice(0)) await subscriber.close();
    await emulator.close();
    await rebalancer.stop();
    scratch.remove();
  });

  it("delivers every gap message exactly once after the first and second history requests failed", async () => {
    const subscriber = await settled();
    const link = await cut(subscriber);
    for (const id of ["gap-1", "gap-2", "gap-3", "gap-4", "gap-5"]) await publish(id);
    emulator.failHistory(2, 500);
    const opened = await link.reconnect();
    await until(async () => (await done(subscriber)) === 6, 5000, "gap delivered");
    await stays(() => rebalancer.requests.length === 6, 300, "no message run twice");
    expect(keys()).to.deep.equal(
      ["seen", "gap-1", "gap-2", "gap-3", "gap-4", "gap-5"].map((id) => `${id}/DU003`),
    );
    // Both channels lost continuity: the two failed requests went to their gaps.
    const gaps = (await subscriber.inbox.gaps.list()).filter((g) => g.id >= opened.id - 1);
    expect(gaps.map((g) => g.state)).to.deep.equal(["covered", "covered"]);
    expect(gaps.reduce((sum, g) => sum + g.failures, 0)).to.equal(2);
    expect(gaps.find((g) => g.failures > 0)!.lastError).to.match(/^50000 history unavailable/);
    expect(subscriber.status().realtime.channels.s2!.resumed).to.equal(false);
  });

  it("reads a gap over several history pages", async () => {
    await emulator.close();
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000, maxHistoryPage: 3 });
    rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    const subscriber = await settled({ historyPageSize: 3 });
    const link = await cut(subscriber);
    const ids = Array.from({ length: 10 }, (_, i) => `paged-${i}`);
    for (const id of ids) await publish(id);
    const before = emulator.historyRequests();
    await link.reconnect();
    await until(async () => (await done(subscriber)) === 11, 5000, "all pages delivered");
    await stays(() => rebalancer.requests.length === 11, 300, "no message run twice");
    expect(emulator.historyRequests() - before).to.be.at.least(4);
    expect(keys().slice(1)).to.deep.equal(ids.map((id) => `${id}/DU003`));
  });

  it("does not let a live message published after the gap hide it", async () => {
    const subscriber = await settled();
    const link = await cut(subscriber);
    await publish("hidden-1");
    await publish("hidden-2");
    emulator.failHistory(1_000_000);
    const gap = await link.reconnect();
    await publish("live-after");
    await until(async () => (await done(subscriber)) === 2, 5000, "live message delivered");
    await until(
      async () => ((await subscriber.inbox.gaps.get(gap.id))?.failures ?? 0) >= 2,
      5000,
      "recovery failing",
    );
    expect(keys()).to.deep.equal(["seen/DU003", "live-after/DU003"]);
    expect((await subscriber.inbox.gaps.get(gap.id))?.state).to.equal("open");

    emulator.failHistory(0);
    await until(async () => (await done(subscriber)) === 4, 5000, "gap delivered");
    await stays(() => rebalancer.requests.length === 4, 300, "no message run twice");
    expect(keys().slice(2)).to.deep.equal(["hidden-1/DU003", "hidden-2/DU003"]);
    expect((await subscriber.inbox.gaps.get(gap.id))?.state).to.equal("covered");
  });

  it("recovers a gap left open by a restart, though the new start's own gap begins after it", async () => {
    const first = await settled();
    const link = await cut(first);
    await publish("across-1");
    await publish("across-2");
    emulator.failHistory(1_000_000);
    const gap = await link.reconnect();
    // Attached long past the continuity margin (200 ms): the mark moves well beyond the gap.
    await until(
      async () => ((await first.inbox.gaps.mark("s2")) ?? 0) > gap.to + 500,
      5000,
      "mark past the gap",
    );
    await first.close();
    running.splice(running.indexOf(first), 1);
    expect(keys()).to.deep.equal(["seen/DU003"]);

    emulator.failHistory(0);
    emulator.refuseResumes(false);
    const second = await start();
    await until(async () => (await done(second)) === 3, 5000, "gap delivered after the restart");
    await stays(() => rebalancer.requests.length === 3, 300, "no message run twice");
    expect(keys().slice(1)).to.deep.equal(["across-1/DU003", "across-2/DU003"]);
    expect(await second.inbox.gaps.get(gap.id)).to.deep.include({ state: "covered" });
    expect((await second.inbox.gaps.get(gap.id))!.recovered, "the gap and its anchor").to.equal(3);
    const [restart] = await gapsOf(second, "start-up").then((g) => g.filter((x) => x.id > gap.id));
    expect(restart!.from, "the start's gap begins after the open one").to.be.above(gap.to);
  });

  it("records a gap beyond history's retention as exactly one gap_unrecoverable", async () => {
    const subscriber = await settled();
    const link = await cut(subscriber);
    await publish("expired-1");
    await publish("expired-2");
    emulator.expireHistory();
    await link.reconnect();
    await until(async () => (await subscriber.inbox.gaps.counts()).unrecoverable === 1, 5000);
    await noOpenGap(subscriber);
    await stays(
      async () => (await subscriber.inbox.gaps.counts()).unrecoverable === 1,
      300,
      "one record",
    );
    const [lost] = await subscriber.inbox.gaps.unacknowledged();
    expect(lost).to.deep.include({ channel: "s2", cause: "not resumed" });
    expect(lost!.reason).to.match(/^channel history does not reach back to .*holds nothing/);
    expect(keys()).to.deep.equal(["seen/DU003"]);
  });

  it("recovers what history still holds and records only the stretch before it as lost", async () => {
    const subscriber = await settled();
    const link = await cut(subscriber);
    await publish("expired");
    await until(() => Date.now() > emulator.history("s2").at(-1)!.timestamp);
    const kept = Date.now();
    await publish("kept");
    emulator.expireHistory({ before: kept });
    await link.reconnect();
    await until(async () => (await done(subscriber)) === 2, 5000, "kept delivered");
    await noOpenGap(subscriber);
    const [lost] = await subscriber.inbox.gaps.unacknowledged();
    expect(lost!.to).to.equal(emulator.history("s2").find((m) => m.timestamp >= kept)!.timestamp);
    expect((await subscriber.inbox.gaps.counts()).unrecoverable).to.equal(1);
    expect(keys()).to.deep.equal(["seen/DU003", "kept/DU003"]);
  });

  it("records the part of a gap older than the recovery window as exactly one gap_unrecoverable", async () => {
    const first = await settled({ recoveryWindowMs: 1500 });
    await first.close();
    running.splice(0);
    await publish("too-old");
    const published = Date.now();
    await until(() => Date.now() > published + 1700, 3000, "older than the window");
    await publish("recent");
    const second = await start({ recoveryWindowMs: 1500 });
    await until(async () => (await done(second)) === 2, 5000, "recent delivered");
    await noOpenGap(second);
    // Both channels were down: each has its record; s2's is the one with a message in it.
    const lostOnS2 = async () =>
      (await second.inbox.gaps.unacknowledged()).filter((g) => g.channel === "s2");
    await stays(async () => (await lostOnS2()).length === 1, 300, "one record");
    const [lost] = await lostOnS2();
    expect(lost).to.deep.include({ cause: "start-up" });
    expect(lost!.reason).to.equal(
      "older than the recovery window (REALTIME_RECOVERY_WINDOW=1.5 s)",
    );
    expect(lost!.from).to.be.below(published);
    expect(lost!.to).to.be.above(published);
    expect(keys()).to.deep.equal(["seen/DU003", "recent/DU003"]);
  });

  it("recovers a message the inbox refused to record, once the inbox takes it", async () => {
    const subscriber = await settled();
    const db = new Database(join(scratch.dir, "data", "subscriber-inbox.sqlite"));
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.event_key = 'refused'
      BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    try {
      await publish("refused");
      await until(async () => (await gapsOf(subscriber, "inbox write failed")).length === 1);
      const [gap] = await gapsOf(subscriber, "inbox write failed");
      await until(async () => ((await subscriber.inbox.gaps.get(gap!.id))?.failures ?? 0) >= 1);
      expect((await subscriber.inbox.gaps.get(gap!.id))?.lastError).to.match(/disk says no/);
      await publish("next");
      await until(async () => (await done(subscriber)) === 2, 5000, "next delivered");
    } finally {
      db.exec("DROP TRIGGER refuse");
      db.close();
    }
    await until(async () => (await done(subscriber)) === 3, 5000, "refused one delivered");
    await stays(() => rebalancer.requests.length === 3, 300, "no message run twice");
    expect(keys()).to.deep.equal(["seen/DU003", "next/DU003", "refused/DU003"]);
    expect((await gapsOf(subscriber, "inbox write failed"))[0]!.state).to.equal("covered");
  });

  it("holds the gap of a refused message in memory while the inbox refuses the gap too", async () => {
    const file = join(scratch.dir, "data", "subscriber-inbox.sqlite");
    const inbox = openSqliteInbox(file, { busyTimeoutMs: 50 });
    const subscriber = await start({}, { inbox });
    await attached(subscriber);
    await noOpenGap(subscriber);
    const lock = new Database(file);
    lock.exec("BEGIN IMMEDIATE");
    try {
      await publish("while-locked");
      await until(
        () => subscriber.status().realtime.heldGaps?.s2 === 1,
        5000,
        "gap held in memory",
      );
    } finally {
      lock.exec("ROLLBACK");
      lock.close();
    }
    await until(async () => (await done(subscriber)) === 1, 5000, "delivered once unlocked");
    const [gap] = await gapsOf(subscriber, "inbox write failed");
    expect(gap?.state).to.equal("covered");
    expect(keys()).to.deep.equal(["while-locked/DU003"]);
  });

  it("is degraded while a gap's recovery fails repeatedly, naming the failure, and ok once read", async () => {
    const subscriber = await settled();
    const link = await cut(subscriber);
    emulator.failHistory(1_000_000, 503);
    const gap = await link.reconnect();
    const failing = new RegExp(
      `^history recovery of gap ${gap.id} on s2 failed \\d+ times in a row: 50300 history unavailable \\(503\\)$`,
    );
    // Both channels' gaps fail; the other channel's may reach the threshold first.
    await until(
      async () => (await health(subscriber)).problems?.some((p) => failing.test(p)) === true,
      5000,
      "this gap's failures named",
    );
    const report = await health(subscriber);
    expect(report.status).to.equal("degraded");
    expect(report.components.continuity).to.equal("down");
    emulator.failHistory(0);
    await noOpenGap(subscriber);
    expect((await health(subscriber)).status).to.equal("ok");
  });

  it("is degraded by a gap open longer than HEALTH_GAP_MAX_AGE", async () => {
    const subscriber = await settled({}, { gapMaxAgeMs: 1000, recoveryFailures: 1_000_000 });
    const link = await cut(subscriber);
    emulator.failHistory(1_000_000);
    const gap = await link.reconnect();
    await until(async () => (await health(subscriber)).status === "degraded", 5000, "degraded");
    const problems = (await health(subscriber)).problems!;
    expect(problems.find((p) => p.startsWith(`gap ${gap.id} on s2`))).to.match(
      /^gap \d+ on s2 is open for [12] s, over HEALTH_GAP_MAX_AGE=1 s: 50000 history unavailable \(500\)$/,
    );
  });

  it("is degraded by a gap_unrecoverable until an operator acknowledges it, and shows it in /status", async () => {
    const subscriber = await settled();
    const link = await cut(subscriber);
    await publish("expired");
    emulator.expireHistory();
    await link.reconnect();
    await until(async () => (await subscriber.inbox.gaps.counts()).unacknowledged === 1);
    const [lost] = await subscriber.inbox.gaps.unacknowledged();
    const report = await health(subscriber);
    expect(report.status).to.equal("degraded");
    expect(report.problems).to.deep.equal([
      `gap_unrecoverable ${lost!.id} on s2, ${new Date(lost!.from).toISOString()} to ${new Date(lost!.to).toISOString()}: ${lost!.reason}; once handled, acknowledge it on the console's Events page or with: npm run gaps -w subscriber -- ack ${lost!.id}`,
    ]);
    const shown = (await (await fetch(`${subscriber.url}/status`)).json()) as {
      gaps: { unrecoverable: { id: number; channel: string; reason: string }[] };
    };
    expect(shown.gaps.unrecoverable).to.have.length(1);
    expect(shown.gaps.unrecoverable[0]).to.include({ id: lost!.id, channel: "s2" });
    expect(
      await subscriber.inbox.gaps.acknowledge(lost!.id, { who: "test", at: Date.now() }),
    ).to.equal(true);
    expect((await health(subscriber)).status).to.equal("ok");
  });
});

describe("Ably continuity across a SIGKILL: the subscriber process, its metrics and the gaps CLI", function () {
  this.timeout(90_000);
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let emulator: AblyEmulator;
  let rest: Ably.Rest;
  let env: Record<string, string>;
  let url: string;
  let metricsUrl: string;
  const children: ChildProcess[] = [];

  const publish = (eventId: string) =>
    rest.channels.get("s2").publish("event", { exec: "rebalance", eventId });
  const status = async () =>
    (await (await fetch(`${url}/status`)).json()) as {
      inbox: { done: number };
      realtime: { channels: Record<string, { state: string }> };
      gaps: {
        open: { id: number; channel: string; cause: string; failures: number }[];
        unrecoverable: { id: number; channel: string }[];
      };
      health: { status: string; problems?: string[] };
    };
  const spawn = async (extra: Record<string, string> = {}) => {
    const run = spawnSubscriber({ ...env, ...extra });
    children.push(run.child);
    await answering(url, run, 40_000);
    return run;
  };
  /** A subscriber process that delivered `seen` (the message history must later hold). */
  const settled = async () => {
    const run = await spawn();
    await until(async () => (await status()).realtime.channels.s2?.state === "attached", 20_000);
    await publish("seen");
    await until(async () => (await status()).inbox.done === 1, 20_000, "seen delivered");
    return run;
  };
  const kill = async (run: { child: ChildProcess }) => {
    run.child.kill("SIGKILL");
    await exited(run.child);
  };

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000 });
    rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    const [port, metricsPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    env = {
      ACCOUNTS_FILE: scratch.accountsFile,
      DATA_DIR: join(scratch.dir, "data"),
      SUBSCRIBER_HOST: "127.0.0.1",
      SUBSCRIBER_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      REBALANCER_API_URL: rebalancer.url,
      REALTIME_API_KEY: emulator.key,
      ABLY_ENDPOINT: "127.0.0.1",
      ABLY_PORT: String(emulator.port),
      ABLY_TLS: "false",
    };
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await emulator.close();
    await rebalancer.stop();
    scratch.remove();
  });

  it("resumes, after a SIGKILL, a gap it could not read before", async () => {
    const first = await settled();
    emulator.failHistory(1_000_000);
    emulator.refuseResumes(true);
    emulator.dropConnections();
    const open = await until(
      async () =>
        (await status()).gaps.open.find(
          (g) => g.channel === "s2" && g.cause === "not resumed" && g.failures > 0,
        ),
      20_000,
      "a failing gap",
    );
    await kill(first);

    emulator.failHistory(0);
    emulator.refuseResumes(false);
    await spawn();
    await until(async () => (await status()).gaps.open.length === 0, 20_000, "no open gap");
    // Read beside the running service, as the gaps CLI does.
    const inbox = openSqliteInbox(join(env.DATA_DIR!, "subscriber-inbox.sqlite"));
    try {
      expect(await inbox.gaps.get(open.id)).to.deep.include({ state: "covered" });
    } finally {
      await inbox.close();
    }
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal(["seen/DU003"]);
  });

  it("reports history expired while it was down as one gap_unrecoverable, counted, until acknowledged", async () => {
    const first = await settled();
    await kill(first);

    await publish("lost-while-down");
    emulator.expireHistory();
    const second = await spawn({ LOG_LEVEL: "error" });
    await until(
      async () => (await status()).gaps.unrecoverable.length === 1,
      20_000,
      `one gap_unrecoverable; output:\n${second.output()}`,
    );
    await until(async () => (await status()).gaps.open.length === 0, 20_000, "no open gap");
    const shown = await status();
    const [lost] = shown.gaps.unrecoverable;
    expect(lost!.channel).to.equal("s2");
    expect(shown.health.status).to.equal("degraded");
    expect(shown.health.problems![0]).to.match(
      new RegExp(`^gap_unrecoverable ${lost!.id} on s2, .*channel history does not reach back`),
    );
    const line = second
      .output()
      .split("\n")
      .find((l) => l.includes('"msg":"gap_unrecoverable"'));
    expect(JSON.parse(line!)).to.deep.include({ level: 50, gap: lost!.id, channel: "s2" });
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).to.match(/^subscriber_gaps_unrecoverable_total\{event_channel="s2",.*\} 1$/m);
    expect(metrics).to.match(/^subscriber_gaps\{gap_state="unacknowledged",.*\} 1$/m);
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal(["seen/DU003"]);

    const cli = spawnScript("src/cli/gaps.ts", ["ack", String(lost!.id), "--by", "ops"], env);
    expect(await exited(cli.child), cli.output()).to.equal(0);
    expect(cli.output()).to.match(new RegExp(`^acknowledged ${lost!.id}: `));
    const after = await status();
    expect(after.health.status).to.equal("ok");
    expect(after.gaps.unrecoverable).to.deep.equal([]);
  });
});

/** The detailed health report of a subscriber (loopback callers see the details). */
async function health(subscriber: Subscriber) {
  const res = await fetch(`${subscriber.url}/health`);
  return (await res.json()) as {
    status: string;
    components: Record<string, string>;
    problems?: string[];
  };
}
