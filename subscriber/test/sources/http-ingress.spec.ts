import { createHmac } from "node:crypto";
import { expect } from "chai";
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

const key = "testapp.testkey:testsecret";

function batch(channel: string, messages: { id: string; data: unknown }[]) {
  return JSON.stringify({
    items: [
      {
        webhookId: "hook",
        source: "channel.message",
        timestamp: Date.now(),
        name: "channel.message",
        data: {
          channelId: channel,
          messages: messages.map((m) => ({
            id: m.id,
            timestamp: Date.now(),
            data: JSON.stringify(m.data),
            encoding: "json",
          })),
        },
      },
    ],
  });
}

async function postWebhook(url: string, body: string, signature?: string) {
  const res = await fetch(`${url}/webhooks/ably`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-ably-key": "testapp.testkey",
      ...(signature ? { "x-ably-signature": signature } : {}),
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sign = (body: string) => createHmac("sha256", "testsecret").update(body).digest("base64");

describe("HTTP ingress", () => {
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

  it("accepts a signed Ably webhook batch once and refuses unsigned or forged ones", async () => {
    subscriber = await startSubscriber(
      testConfig(scratch.dir, rebalancer.url, { webhookKey: key }),
      { logger: testLogger },
    );
    const body = batch("s2", [{ id: "wh:0", data: { exec: "rebalance", eventId: "wh-1" } }]);
    expect((await postWebhook(subscriber.url, body)).status).to.equal(401);
    expect((await postWebhook(subscriber.url, body, sign(`${body} `))).status).to.equal(401);
    const ok = await postWebhook(subscriber.url, body, sign(body));
    expect(ok.status).to.equal(200);
    expect(ok.body.received).to.equal(1);
    // Ably retries webhooks it thinks failed: the repeat must not run again.
    expect((await postWebhook(subscriber.url, body, sign(body))).status).to.equal(200);
    await until(async () => (await subscriber.inbox.counts()).done === 1);
    // Nothing signals a delivery that does not happen: watch for 4 poll intervals (50 ms each).
    await stays(() => rebalancer.requests.length === 1, 200, "one request for the resent webhook");
    expect(rebalancer.requests).to.have.length(1);
    expect((await subscriber.inbox.list())[0]!.source).to.equal("webhook");
  });

  it("accepts unsigned webhooks when no key is configured, rejecting bad payloads in the batch", async () => {
    subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url), {
      logger: testLogger,
    });
    const body = batch("s2", [
      { id: "b:0", data: { exec: "print-positions", eventId: "ok" } },
      { id: "b:1", data: { exec: "rm -rf" } },
    ]);
    const res = await postWebhook(subscriber.url, body);
    expect(res.status).to.equal(200);
    const [accepted, rejected] = res.body.results as Record<string, unknown>[];
    expect(accepted).to.include({ status: "accepted", recorded: 1 });
    expect(rejected).to.include({ status: "rejected" });
    expect(rejected!.reason).to.match(/^unknown exec "rm -rf"/);
    expect(rejected).not.to.have.property("recorded");
    const counts = await subscriber.inbox.counts();
    expect(counts.rejected).to.equal(1);
    expect(counts.pending + counts.in_flight + counts.done).to.equal(1);
  });

  it("answers /health and /status, and 404 elsewhere", async () => {
    subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url), {
      logger: testLogger,
    });
    await postEvent(subscriber.url, "s1", { exec: "rebalance", eventId: "st" });
    await until(async () => (await subscriber.inbox.counts()).done === 2);
    const health = await getJson(`${subscriber.url}/health`);
    expect(health).to.deep.include({ status: 200 });
    expect(health.body.status).to.equal("ok");
    const status = await getJson(`${subscriber.url}/status`);
    expect(status.body.inbox).to.deep.equal({
      pending: 0,
      in_flight: 0,
      done: 2,
      dead: 0,
      rejected: 0,
      discarded: 0,
    });
    expect(status.body.circuit).to.equal("closed");
    expect(status.body.rebalancer).to.include({ url: rebalancer.url, reachable: true });
    expect(status.body.lastEventAt).to.have.property("s1");
    expect((status.body.realtime as Record<string, unknown>).enabled).to.equal(false);
    expect((await fetch(`${subscriber.url}/nothing`)).status).to.equal(404);
  });

  it("reports an unreachable rebalancer in /status before any delivery was tried", async () => {
    await rebalancer.stop();
    subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url), {
      logger: testLogger,
    });
    const status = await getJson(`${subscriber.url}/status`);
    expect(status.status).to.equal(200);
    expect(status.body.rebalancer).to.include({ reachable: false });
    expect((status.body.rebalancer as { lastError: string }).lastError).to.match(/^Unavailable/);
    await rebalancer.restart();
  });

  it("refuses bodies over 1 MiB without recording them", async () => {
    subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url), {
      logger: testLogger,
    });
    const res = await postEvent(subscriber.url, "s1", "x".repeat(1024 * 1024 + 1));
    expect(res.status).to.equal(413);
    expect((await subscriber.inbox.list()).length).to.equal(0);
  });
});
