import { expect } from "chai";
import { ExecutionMode } from "@mesh/proto/rebalancer/v1/rebalancer";
import { stays, until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import {
  getJson,
  postEvent,
  scratchDir,
  testConfig,
  testLogger,
} from "../support/test-subscriber.js";

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const webhook = (messages: unknown[]) =>
  JSON.stringify({ items: [{ source: "channel.message", data: { channelId: "s2", messages } }] });

describe("HTTP ingress: bad input gets a 4xx and never runs", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let subscriber: Subscriber;

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    await subscriber.close();
    await rebalancer.stop();
    scratch.remove();
  });

  const start = async (apiKey?: string) => {
    subscriber = await startSubscriber(
      testConfig(scratch.dir, rebalancer.url, apiKey ? { apiKey } : {}),
      { logger: testLogger },
    );
  };

  it("answers malformed %-encoding, invalid UTF-8 and junk with 4xx, recording nothing to run", async () => {
    await start();
    const bad = await post(`${subscriber.url}/events/%E0%A4%A`, '{"exec":"rebalance"}');
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.match(/%-encoding/);
    const utf8 = Buffer.from([
      ...Buffer.from('{"exec":"rebalance","eventId":"'),
      0xc3,
      0x28,
      0x22,
      0x7d,
    ]);
    expect((await post(`${subscriber.url}/events/s1`, utf8)).status).to.equal(400);
    expect((await post(`${subscriber.url}/webhooks/ably`, "{nope")).status).to.equal(400);
    expect((await post(`${subscriber.url}/webhooks/ably`, '{"items":{}}')).status).to.equal(400);
    const wrongType = await postEvent(subscriber.url, "s1", { exec: 1, eventId: "t" });
    expect(wrongType).to.deep.include({ status: 422 });
    expect(wrongType.body.rejected).to.equal("exec must be a string");
    const unknown = await postEvent(subscriber.url, "s1", {
      exec: "rebalance",
      eventId: "u",
      idempotency_Key: "k",
    });
    expect(unknown.status).to.equal(422);
    expect(unknown.body.rejected).to.equal('unknown field "idempotency_Key"');
    const proto = await postEvent(subscriber.url, "s1", { exec: "constructor", eventId: "p" });
    expect(proto.status).to.equal(422);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 0, 200, "no request for refused payloads");
    expect(rebalancer.requests).to.have.length(0);
    expect((await subscriber.inbox.counts()).pending).to.equal(0);
  });

  it("records the valid messages of a webhook batch with junk in it, and reports the junk", async () => {
    await start();
    const good = {
      id: "w:1",
      data: '{"exec":"print-rebalance","eventId":"w-1"}',
      encoding: "json",
    };
    const res = await post(
      `${subscriber.url}/webhooks/ably`,
      webhook([null, good, "x", { id: 3 }]),
    );
    expect(res.status).to.equal(200);
    expect(res.body.received).to.equal(1);
    expect((res.body.junk as { at: string }[]).map((j) => j.at)).to.deep.equal([
      "items[0].data.messages[0]",
      "items[0].data.messages[2]",
      "items[0].data.messages[3]",
    ]);
    await until(async () => (await subscriber.inbox.counts()).done === 1);
  });

  it("refuses an eventId seen before with another command (409) and runs only the first", async () => {
    await start();
    const first = await postEvent(subscriber.url, "s2", {
      exec: "print-rebalance",
      eventId: "c-1",
    });
    expect(first.status).to.equal(202);
    const second = await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "c-1" });
    expect(second.status).to.equal(409);
    expect(second.body.conflict).to.match(/recorded with command dry-run .* asks for rebalance/);
    // A plain repeat of the first stays a quiet duplicate.
    const again = await postEvent(subscriber.url, "s2", {
      exec: "print-rebalance",
      eventId: "c-1",
    });
    expect(again).to.deep.include({ status: 202 });
    expect(again.body.duplicates).to.equal(1);
    await until(async () => (await subscriber.inbox.counts()).done === 1);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 1, 200, "only the first command sent");
    expect(rebalancer.requests.map((r) => r.mode)).to.deep.equal([ExecutionMode.DRY_RUN]);
    const status = await getJson(`${subscriber.url}/status`);
    expect(status.body.eventConflicts).to.equal(1);
    const rejected = await subscriber.inbox.list({ state: "rejected" });
    expect(rejected.map((e) => e.reason)).to.have.length(1);
    expect(rejected[0]!.reason).to.match(/^eventId "c-1" was recorded with command dry-run/);
  });

  it("refuses (422) an eventId whose idempotency keys would be too long", async () => {
    await start();
    const res = await postEvent(subscriber.url, "s2", {
      exec: "rebalance",
      eventId: "e".repeat(195),
    });
    expect(res.status).to.equal(422);
    expect(res.body.rejected).to.match(/would exceed 200/);
    const long = await postEvent(
      subscriber.url,
      "s2",
      { exec: "rebalance" },
      {
        "idempotency-key": "k".repeat(300),
      },
    );
    expect(long.status).to.equal(422);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 0, 200, "no request for over-long keys");
    expect(rebalancer.requests).to.have.length(0);
  });

  it("sends an explicit mode with every run: live for rebalance, dry run otherwise", async () => {
    await start();
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "m-1" });
    await postEvent(subscriber.url, "s2", { exec: "print-rebalance", eventId: "m-2" });
    await postEvent(subscriber.url, "s2", { execution: "dry_run" });
    await until(async () => (await subscriber.inbox.counts()).done === 3);
    expect(rebalancer.requests.map((r) => r.mode)).to.have.members([
      ExecutionMode.LIVE,
      ExecutionMode.DRY_RUN,
      ExecutionMode.DRY_RUN,
    ]);
  });

  it("keeps only the first 4 kB of a rejected payload and no status entry for unknown channels", async () => {
    await start();
    const big = JSON.stringify({ exec: "rebalance", eventId: "b", junk: "x".repeat(50_000) });
    expect((await postEvent(subscriber.url, "s1", big)).status).to.equal(422);
    expect((await postEvent(subscriber.url, "nobody-here", { exec: "rebalance" })).status).to.equal(
      422,
    );
    const [, rejected] = await subscriber.inbox.list({ state: "rejected" });
    expect(rejected!.payload.length).to.be.below(4200);
    expect(rejected!.payload).to.match(/\(50\d\d\d bytes\)$/);
    const status = await getJson(`${subscriber.url}/status`);
    expect(Object.keys(status.body.lastEventAt as object)).to.deep.equal(["s1"]);
  });

  it("shows last errors and addresses only to callers with the key; /health says up or down", async () => {
    await rebalancer.stop();
    await start("status-key");
    const open = await getJson(`${subscriber.url}/status`);
    expect(open.body.rebalancer).to.deep.equal({ reachable: false });
    expect(JSON.stringify(open.body)).not.to.contain("127.0.0.1");
    const res = await fetch(`${subscriber.url}/status`, {
      headers: { authorization: "Bearer status-key" },
    });
    const detailed = (await res.json()) as { rebalancer: { url: string; lastError: string } };
    expect(detailed.rebalancer.url).to.equal(rebalancer.url);
    expect(detailed.rebalancer.lastError).to.match(/^Unavailable/);
    const health = await getJson(`${subscriber.url}/health`);
    expect(health.body).to.deep.equal({
      status: "ok",
      ok: true,
      components: { inbox: "up", realtime: "disabled" },
    });
    await rebalancer.restart();
  });
});
