import * as Ably from "ably";
import { expect } from "chai";
import { stays, until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import { startAblyEmulator, type AblyEmulator } from "../ably-emulator/ably-emulator.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import {
  getJson,
  postEvent,
  scratchDir,
  testConfig,
  testLogger,
} from "../support/test-subscriber.js";

describe("Ably realtime source (real SDK against the emulator)", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let emulator: AblyEmulator;
  let rest: Ably.Rest;
  const running: Subscriber[] = [];

  const start = async (key = emulator.key) => {
    const { endpoint, port } = emulator.clientOptions();
    const config = testConfig(scratch.dir, rebalancer.url, {
      realtime: { key, endpoint, port },
    });
    const subscriber = await startSubscriber(config, { logger: testLogger });
    running.push(subscriber);
    return subscriber;
  };
  const publish = (channel: string, data: unknown) =>
    rest.channels.get(channel).publish("event", data);
  const attached = (subscriber: Subscriber, ...channels: string[]) =>
    until(
      () => channels.every((c) => subscriber.status().realtime.channels[c]?.state === "attached"),
      5000,
      "channels attached",
    );
  const doneCount = async (subscriber: Subscriber) => (await subscriber.inbox.counts()).done;

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

  it("attaches one channel per strategy and reports the connection in /status", async () => {
    const subscriber = await start();
    await attached(subscriber, "s1", "s2");
    const { body } = await getJson(`${subscriber.url}/status`);
    const realtime = body.realtime as Record<string, unknown>;
    expect(realtime.state).to.equal("connected");
    expect(Object.keys(realtime.channels as object).sort()).to.deep.equal(["s1", "s2"]);
    expect(emulator.connectionsAccepted()).to.equal(1);
  });

  it("turns a published message into exactly one run per account, keyed by the event id", async () => {
    const subscriber = await start();
    await attached(subscriber, "s1");
    await publish("s1", { exec: "rebalance", eventId: "rt-1" });
    await until(async () => (await doneCount(subscriber)) === 2);
    expect(rebalancer.requests.map((r) => r.idempotencyKey).sort()).to.deep.equal([
      "rt-1/DU001",
      "rt-1/DU002",
    ]);
    const [entry] = await subscriber.inbox.list({ state: "done" });
    expect(entry!.source).to.equal("realtime");
    expect(entry!.messageId).to.equal(emulator.history("s1")[0]!.id);
  });

  it("de-duplicates early-form messages by their Ably message id", async () => {
    const subscriber = await start();
    await attached(subscriber, "s2");
    await rest.channels.get("s2").publish({ id: "fixed-id:0", data: { execution: "rebalance" } });
    await rest.channels.get("s2").publish({ id: "fixed-id:0", data: { execution: "rebalance" } });
    await until(async () => (await doneCount(subscriber)) === 1);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 1, 200, "one request for the repeated id");
    expect(rebalancer.requests).to.have.length(1);
  });

  it("processes every message published while the connection was dropped, once", async () => {
    const subscriber = await start();
    await attached(subscriber, "s2");
    await publish("s2", { exec: "rebalance", eventId: "before" });
    await until(async () => (await doneCount(subscriber)) === 1);
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => subscriber.status().realtime.state !== "connected");
    for (const id of ["gap-1", "gap-2", "gap-3"]) {
      await publish("s2", { exec: "rebalance", eventId: id });
    }
    emulator.refuseConnections(false);
    await until(async () => (await doneCount(subscriber)) === 4, 5000);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 4, 200, "no message run twice");
    expect(subscriber.status().realtime.channels.s2!.resumed).to.equal(true);
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "before/DU003",
      "gap-1/DU003",
      "gap-2/DU003",
      "gap-3/DU003",
    ]);
  });

  it("recovers a gap longer than Ably keeps connection state from history, once", async () => {
    const subscriber = await start();
    await attached(subscriber, "s2");
    await publish("s2", { exec: "rebalance", eventId: "seen" });
    await until(async () => (await doneCount(subscriber)) === 1);
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => subscriber.status().realtime.state !== "connected");
    await publish("s2", { exec: "rebalance", eventId: "lost-1" });
    await publish("s2", { exec: "rebalance", eventId: "lost-2" });
    emulator.expireConnectionState();
    emulator.refuseConnections(false);
    await until(async () => (await doneCount(subscriber)) === 3, 5000);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 3, 200, "no message run twice");
    expect(subscriber.status().realtime.channels.s2!.resumed).to.equal(false);
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "seen/DU003",
      "lost-1/DU003",
      "lost-2/DU003",
    ]);
    const sources = (await subscriber.inbox.list()).map((e) => e.source);
    expect(sources).to.include("history");
  });

  it("after a restart, recovers what was published while it was down and reruns nothing", async () => {
    const first = await start();
    await attached(first, "s2");
    await publish("s2", { exec: "rebalance", eventId: "old" });
    await until(async () => (await doneCount(first)) === 1);
    await first.close();
    await publish("s2", { exec: "rebalance", eventId: "while-down" });
    const second = await start();
    await until(async () => (await doneCount(second)) === 2, 5000);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 2, 200, "nothing rerun after the restart");
    expect(rebalancer.requests.map((r) => r.idempotencyKey)).to.deep.equal([
      "old/DU003",
      "while-down/DU003",
    ]);
  });

  it("shows a bad key as a failed connection while the status endpoint and ingress keep serving", async () => {
    const subscriber = await start("testapp.testkey:wrong");
    await until(() => subscriber.status().realtime.state === "failed");
    const health = await getJson(`${subscriber.url}/health`);
    expect(health.status).to.equal(503);
    expect((health.body.problems as string[])[0]).to.match(/realtime connection failed: 40101/);
    const status = await getJson(`${subscriber.url}/status`);
    expect(status.status).to.equal(200);
    expect((status.body.realtime as Record<string, unknown>).reason).to.match(/^40101 /);
    const res = await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "local" });
    expect(res.status).to.equal(202);
    await until(async () => (await doneCount(subscriber)) === 1);
  });
});
