import { Writable } from "node:stream";
import { Code } from "@connectrpc/connect";
import { createLogger } from "@mesh/platform/logger";
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { stays, until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import type { SubscriberConfig } from "../../src/config.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import { postEvent, scratchDir, testConfig, testLogger } from "../support/test-subscriber.js";

describe("delivery to the rebalancer", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  const running: Subscriber[] = [];
  const start = async (overrides: Parameters<typeof testConfig>[2] = {}) => {
    const subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url, overrides), {
      logger: testLogger,
    });
    running.push(subscriber);
    return subscriber;
  };
  const runsFor = (account: string) =>
    [...rebalancer.runs.keys()].filter((key) => key.includes(`/${account}`)).length;
  const settledCounts = async (subscriber: Subscriber) => {
    const counts = await subscriber.inbox.counts();
    return counts.pending + counts.in_flight === 0;
  };

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    for (const subscriber of running.splice(0)) await subscriber.close();
    await rebalancer.stop();
    scratch.remove();
  });

  it("turns one message into exactly one run per enabled paper account on the channel", async () => {
    const subscriber = await start();
    const res = await postEvent(subscriber.url, "s1", { exec: "rebalance", eventId: "e-1" });
    expect(res.status).to.equal(202);
    await until(() => rebalancer.requests.length === 2);
    await until(() => settledCounts(subscriber));
    expect(rebalancer.requests.map((r) => r.accountId).sort()).to.deep.equal(["DU001", "DU002"]);
    const request = rebalancer.requests[0]!;
    expect(request.mode).to.equal(ExecutionMode.LIVE);
    expect(request.idempotencyKey).to.equal(`e-1/${request.accountId}`);
    expect(request.trigger).to.include({ source: "subscriber", eventId: "e-1", channel: "s1" });
    const done = await subscriber.inbox.list({ state: "done" });
    expect(done.map((e) => e.runId).sort()).to.deep.equal(["run-1", "run-2"]);
    expect(done[0]!.result).to.equal("COMPLETED: done");
  });

  it("never turns a dry-run command into a live run", async () => {
    const subscriber = await start();
    await postEvent(subscriber.url, "s2", { exec: "print-rebalance", eventId: "e-2" });
    await postEvent(subscriber.url, "s2", { execution: "dry_run" });
    await until(() => rebalancer.requests.length === 2);
    expect(rebalancer.requests.map((r) => r.mode)).to.deep.equal([
      ExecutionMode.DRY_RUN,
      ExecutionMode.DRY_RUN,
    ]);
  });

  it("runs a message delivered twice only once", async () => {
    const subscriber = await start();
    const first = await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "dup" });
    const second = await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "dup" });
    expect(first.body).to.include({ status: "accepted", recorded: 1, duplicates: 0 });
    expect(second.body).to.include({ status: "duplicate", recorded: 0, duplicates: 1 });
    await until(() => settledCounts(subscriber));
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 1, 200, "one request for the repeated event");
    expect(rebalancer.requests).to.have.length(1);
  });

  it("makes one run from two replicas that both received the same message", async () => {
    const a = await start({ dataDir: `${scratch.dir}/replica-a` });
    const b = await start({ dataDir: `${scratch.dir}/replica-b` });
    await Promise.all([
      postEvent(a.url, "s1", { exec: "rebalance", eventId: "both" }),
      postEvent(b.url, "s1", { exec: "rebalance", eventId: "both" }),
      postEvent(b.url, "s1", { exec: "rebalance", eventId: "both" }),
    ]);
    await until(async () => (await settledCounts(a)) && (await settledCounts(b)));
    expect(rebalancer.requests).to.have.length(4);
    expect(rebalancer.runs.size).to.equal(2);
    expect(runsFor("DU001")).to.equal(1);
  });

  it("keeps a message while the rebalancer is down and delivers it once it is back", async () => {
    await rebalancer.stop();
    const subscriber = await start();
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "outage" });
    await until(async () => ((await subscriber.inbox.list())[0]?.attempts ?? 0) >= 2, 5000);
    const [waiting] = await subscriber.inbox.list();
    expect(waiting!.state).to.be.oneOf(["pending", "in_flight"]);
    expect(waiting!.reason).to.match(/Unavailable/);
    expect(subscriber.status().rebalancer.reachable).to.equal(false);
    await rebalancer.restart();
    await until(async () => (await subscriber.inbox.counts()).done === 1, 5000);
    expect(rebalancer.runs.size).to.equal(1);
    expect(subscriber.status().rebalancer.reachable).to.equal(true);
  });

  it("dead-letters an entry whose transient failures outlast its max age, with the reason", async () => {
    rebalancer.behaviour = () => ({ kind: "error", code: Code.Unavailable, message: "busy" });
    const subscriber = await start({ delivery: { maxAgeMs: 300 } });
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "old" });
    await until(async () => (await subscriber.inbox.counts()).dead === 1, 5000);
    const [dead] = await subscriber.inbox.list({ state: "dead" });
    expect(dead!.reason).to.match(/^gave up after \d+ attempts over \d+ s: Unavailable: busy/);
  });

  it("dead-letters a refused request at once, and a re-drive runs it under a new key", async () => {
    rebalancer.behaviour = () => ({
      kind: "error",
      code: Code.FailedPrecondition,
      message: "live guard: TRADING_MODE is paper",
    });
    const subscriber = await start();
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "guarded" });
    await until(async () => (await subscriber.inbox.counts()).dead === 1);
    expect(rebalancer.requests).to.have.length(1);
    const [dead] = await subscriber.inbox.list({ state: "dead" });
    expect(dead!.reason).to.equal("FailedPrecondition: live guard: TRADING_MODE is paper");

    rebalancer.behaviour = () => ({ kind: "complete" });
    expect(await subscriber.inbox.redrive(dead!.id, Date.now())).to.equal(true);
    await until(async () => (await subscriber.inbox.counts()).done === 1, 3000);
    expect(rebalancer.requests[1]!.idempotencyKey).to.equal("guarded/DU003/1");
  });

  it("follows a run handed over by a stopping rebalancer to its outcome, under the same key, never dead-lettering it", async () => {
    rebalancer.behaviour = () => ({ kind: "handover" });
    const subscriber = await start();
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "handed" });
    await until(() => settledCounts(subscriber));
    const [entry] = await subscriber.inbox.list({ state: "done" });
    expect(entry?.result).to.equal("COMPLETED: done");
    expect(await subscriber.inbox.list({ state: "dead" })).to.deep.equal([]);
    expect(rebalancer.runs.size).to.equal(1);
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "handed/DU003",
      "handed/DU003",
    ]);
  });

  it("re-schedules a postponed run for the time the rebalancer gives, as a new run", async () => {
    let postponed = false;
    rebalancer.behaviour = () => {
      if (postponed) return { kind: "complete" };
      postponed = true;
      return { kind: "postpone", at: Date.now() + 400 };
    };
    const subscriber = await start();
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "closed" });
    await until(async () => (await subscriber.inbox.list())[0]?.generation === 1);
    const [waiting] = await subscriber.inbox.list();
    expect(waiting!.state).to.equal("pending");
    expect(waiting!.nextAttemptAt).to.be.greaterThan(Date.now() + 100);
    // Due in 400 ms: for the next 100 ms nothing may be sent early.
    await stays(() => rebalancer.requests.length === 1, 100, "no attempt before the due time");
    expect(rebalancer.requests).to.have.length(1);
    await until(async () => (await subscriber.inbox.counts()).done === 1, 3000);
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "closed/DU003",
      "closed/DU003/1",
    ]);
  });

  it("delivers one entry at a time per account and bounds concurrency across accounts", async () => {
    rebalancer.behaviour = () => ({ kind: "delay", ms: 100 });
    const subscriber = await start({ delivery: { concurrency: 2 } });
    for (let i = 0; i < 3; i++) {
      await postEvent(subscriber.url, "s1", { exec: "rebalance", eventId: `c-${i}` });
      await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: `c-${i}` });
    }
    await until(async () => (await subscriber.inbox.counts()).done === 9, 5000);
    expect(rebalancer.maxPerAccount).to.equal(1);
    expect(rebalancer.maxActive).to.equal(2);
  });

  it("opens the circuit after consecutive failures and closes it once deliveries succeed", async () => {
    let failing = true;
    rebalancer.behaviour = () =>
      failing ? { kind: "error", code: Code.Unavailable, message: "down" } : { kind: "complete" };
    const subscriber = await start({
      delivery: { breakerThreshold: 2, breakerHalfOpenAfterMs: 500, retryAttempts: 1 },
    });
    await postEvent(subscriber.url, "s1", { exec: "rebalance", eventId: "cb" });
    await until(() => subscriber.status().circuit === "open", 3000, "circuit open");
    const tried = rebalancer.requests.length;
    // While open (500 ms), nothing reaches the rebalancer: watch the first 100 ms of it.
    await stays(() => rebalancer.requests.length === tried, 100, "no request while open");
    expect(rebalancer.requests.length).to.equal(tried);
    failing = false;
    await until(async () => (await subscriber.inbox.counts()).done === 2, 5000, "delivered");
    expect(subscriber.status().circuit).to.equal("closed");
    expect(rebalancer.runs.size).to.equal(2);
  });

  it("cancels a delivery that outlasts its timeout and retries it under the same key", async () => {
    let calls = 0;
    rebalancer.behaviour = () => (++calls === 1 ? { kind: "hang" } : { kind: "complete" });
    const subscriber = await start({ delivery: { attemptTimeoutMs: 200 } });
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "slow" });
    await until(async () => (await subscriber.inbox.counts()).done === 1, 5000);
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "slow/DU003",
      "slow/DU003",
    ]);
    expect(rebalancer.runs.size).to.equal(1);
  });

  it("maps print and cancel commands to their RPCs", async () => {
    const subscriber = await start();
    for (const exec of ["print-positions", "print-equity", "print-orders", "cancel-orders"]) {
      await postEvent(subscriber.url, "s2", { exec, eventId: exec });
    }
    await until(async () => (await subscriber.inbox.counts()).done === 4);
    expect(rebalancer.calls.sort()).to.deep.equal([
      "cancelOpenOrders",
      "getAccountValue",
      "getPositions",
      "listOpenOrders",
    ]);
    expect(rebalancer.requests).to.have.length(0);
    const equity = (await subscriber.inbox.list({ state: "done" })).find(
      (e) => e.command === "print-equity",
    );
    expect(equity!.result).to.match(/^net liquidation 1000 USD, cash 10/);
  });

  it("records malformed payloads as rejected with the reason and sends nothing", async () => {
    const subscriber = await start();
    const cases: [unknown, string][] = [
      ["{not json", "payload is not JSON"],
      [{ exec: "liquidate", eventId: "bad-1" }, 'unknown exec "liquidate"'],
      [{ eventId: "bad-2" }, "payload has neither exec nor execution"],
      [[1, 2], "payload must be a JSON object"],
    ];
    for (const [payload, reason] of cases) {
      const res = await postEvent(subscriber.url, "s1", payload);
      expect(res.status).to.equal(422);
      expect(res.body).to.include({ status: "rejected" });
      expect(res.body.reason).to.include(reason);
      expect(res.body).not.to.have.property("recorded");
    }
    const unknownChannel = await postEvent(subscriber.url, "nobody", { exec: "rebalance" });
    expect(unknownChannel.body.reason).to.match(/no enabled paper account/);
    const rejected = await subscriber.inbox.list({ state: "rejected" });
    expect(rejected).to.have.length(5);
    expect(rejected.every((e) => e.reason !== "" && e.payload !== "")).to.equal(true);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 0, 200, "no request for rejected payloads");
    expect(rebalancer.requests).to.have.length(0);
  });

  it("sends the API key as a bearer token", async () => {
    await rebalancer.stop();
    rebalancer = await startFakeRebalancer({ apiKey: "s3cret" });
    const config: SubscriberConfig = testConfig(scratch.dir, rebalancer.url);
    config.rebalancer.apiKey = "s3cret";
    const subscriber = await startSubscriber(config, { logger: testLogger });
    running.push(subscriber);
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "auth" });
    await until(async () => (await subscriber.inbox.counts()).done === 1);
  });

  it("names the entry, account and idempotency key once in every delivery line", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url), {
      logger: createLogger({ name: "test", level: "info", destination }),
    });
    running.push(subscriber);
    rebalancer.behaviour = () => ({ kind: "error", code: Code.Unavailable });
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "once" });
    await until(() => lines.some((l) => l.includes('"msg":"delivery failed, will retry"')));
    rebalancer.behaviour = () => ({ kind: "complete" });
    await until(() => lines.some((l) => l.includes('"msg":"delivered"')));
    const delivery = lines.filter((l) => l.includes('"component":"delivery"'));
    expect(delivery.map((l) => JSON.parse(l).msg)).to.include.members([
      "delivery failed, will retry",
      "run progress",
      "delivered",
    ]);
    for (const line of delivery.filter((l) => l.includes('"entryId"'))) {
      // JSON.parse would keep the last of two equal keys: count them in the raw line.
      for (const key of ["entryId", "accountId", "idempotencyKey"]) {
        expect(line.split(`"${key}":`).length - 1, `${key} in ${line}`).to.equal(1);
      }
    }
  });
});
