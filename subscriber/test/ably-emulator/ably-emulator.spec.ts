import * as Ably from "ably";
import { expect } from "chai";
import { until } from "@mesh/platform/testing/until";
import { startAblyEmulator, type AblyEmulator } from "./ably-emulator.js";

/** Short SDK timings so reconnects happen within a test. */
const fast = { disconnectedRetryTimeout: 200, realtimeRequestTimeout: 2000, logLevel: 0 };

function connected(realtime: Ably.Realtime): Promise<void> {
  return new Promise((resolve, reject) => {
    if (realtime.connection.state === "connected") return resolve();
    realtime.connection.once("connected", () => resolve());
    realtime.connection.once("failed", (change) => reject(new Error(change.reason?.message)));
  });
}

function collect(channel: Ably.RealtimeChannel): Ably.InboundMessage[] {
  const received: Ably.InboundMessage[] = [];
  void channel.subscribe((message) => received.push(message));
  return received;
}

describe("Ably emulator, driven by the real SDK", () => {
  let emulator: AblyEmulator;
  const clients: Ably.Realtime[] = [];
  const realtime = (options: Partial<Ably.ClientOptions> = {}) => {
    const client = new Ably.Realtime({ ...emulator.clientOptions(), ...fast, ...options });
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000 });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await emulator.close();
  });

  it("delivers a message published with Ably.Rest to an attached channel, id intact", async () => {
    const client = realtime();
    const channel = client.channels.get("etf-blend-200-35");
    const received = collect(channel);
    await channel.attach();
    const rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    await rest.channels.get("etf-blend-200-35").publish("rebalance", { exec: "rebalance" });
    await until(() => received.length === 1);
    expect(received[0]!.data).to.deep.equal({ exec: "rebalance" });
    expect(received[0]!.id).to.match(/:0$/);
    expect(emulator.history("etf-blend-200-35")[0]!.id).to.equal(received[0]!.id);
  });

  it("replays recent messages to a first attach with a rewind param", async () => {
    emulator.publish("s1", [
      { name: "a", data: "1" },
      { name: "b", data: "2" },
    ]);
    const channel = realtime().channels.get("s1", { params: { rewind: "1" } });
    const received = collect(channel);
    await channel.attach();
    await until(() => received.length === 1);
    expect(received[0]!.name).to.equal("b");
  });

  it("resumes after a dropped connection and replays what was published during the gap", async () => {
    const client = realtime();
    const channel = client.channels.get("s1");
    const received = collect(channel);
    await channel.attach();
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => client.connection.state !== "connected");
    emulator.publish("s1", [{ data: "during-gap-1" }, { data: "during-gap-2" }]);
    emulator.refuseConnections(false);
    const resumed = new Promise<boolean>((resolve) =>
      channel.once("attached", (change) => resolve(change.resumed)),
    );
    expect(await resumed).to.equal(true);
    await until(() => received.length === 2);
    expect(received.map((m) => m.data)).to.deep.equal(["during-gap-1", "during-gap-2"]);
  });

  it("re-attaches without resume once connection state expired, losing the gap", async () => {
    const client = realtime();
    const channel = client.channels.get("s1");
    const received = collect(channel);
    await channel.attach();
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => client.connection.state !== "connected");
    emulator.publish("s1", [{ data: "lost" }]);
    emulator.expireConnectionState();
    emulator.refuseConnections(false);
    const change = await new Promise<Ably.ChannelStateChange>((resolve) =>
      channel.once("attached", resolve),
    );
    expect(change.resumed).to.equal(false);
    expect(received).to.have.length(0);
    const page = await channel.history({ start: Date.now() - 60_000 });
    expect(page.items.map((m) => m.data)).to.deep.equal(["lost"]);
  });

  it("refuses every resume while told to, so channels re-attach without continuity", async () => {
    const client = realtime();
    const channel = client.channels.get("s1");
    const received = collect(channel);
    await channel.attach();
    emulator.refuseResumes(true);
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => client.connection.state !== "connected");
    emulator.publish("s1", [{ data: "lost" }]);
    emulator.refuseConnections(false);
    const change = await new Promise<Ably.ChannelStateChange>((resolve) =>
      channel.once("attached", resolve),
    );
    expect(change.resumed).to.equal(false);
    expect(received).to.have.length(0);
  });

  it("pages history forwards with a next link, as Ably does", async () => {
    await emulator.close();
    emulator = await startAblyEmulator({ maxHistoryPage: 2 });
    emulator.publish(
      "s1",
      [1, 2, 3, 4, 5].map((n) => ({ data: String(n) })),
    );
    const rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    let page: Ably.PaginatedResult<Ably.InboundMessage> | null = await rest.channels
      .get("s1")
      .history({ start: 0, direction: "forwards", limit: 1000 });
    const pages: string[][] = [];
    while (page) {
      pages.push(page.items.map((m) => m.data as string));
      page = page.hasNext() ? await page.next() : null;
    }
    expect(pages).to.deep.equal([["1", "2"], ["3", "4"], ["5"]]);
    expect(emulator.historyRequests()).to.equal(3);
  });

  it("fails the next N history requests with an Ably error, then answers", async () => {
    emulator.publish("s1", [{ data: "kept" }]);
    emulator.failHistory(2, 503);
    const rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    const read = () =>
      rest.channels
        .get("s1")
        .history({ start: 0 })
        .then(
          (page) => page.items.map((m) => m.data),
          (err: Ably.ErrorInfo) => err.statusCode,
        );
    expect(await read()).to.equal(503);
    expect(await read()).to.equal(503);
    expect(await read()).to.deep.equal(["kept"]);
  });

  it("expires history older than a time, as retention does", async () => {
    emulator.publish("s1", [{ data: "old" }]);
    emulator.publish("s2", [{ data: "other" }]);
    await until(() => Date.now() > emulator.history("s1")[0]!.timestamp);
    const before = Date.now();
    emulator.publish("s1", [{ data: "new" }]);
    emulator.expireHistory({ channel: "s1", before });
    expect(emulator.history("s1").map((m) => m.data)).to.deep.equal(["new"]);
    expect(emulator.history("s2")).to.have.length(1);
    emulator.expireHistory();
    expect(emulator.history("s1")).to.have.length(0);
    expect(emulator.history("s2")).to.have.length(0);
  });

  it("refuses a bad key with 40101 and the SDK goes to failed", async () => {
    const client = realtime({ key: "testapp.testkey:wrong" });
    const error = await connected(client).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).to.match(/invalid key/i);
    expect(client.connection.state).to.equal("failed");
    expect(client.connection.errorReason?.code).to.equal(40101);
  });

  it("answers the SDK's heartbeat ping", async () => {
    const client = realtime();
    await connected(client);
    const ms = await client.connection.ping();
    expect(ms).to.be.a("number");
  });
});
