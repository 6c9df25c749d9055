// The IBKR adapter's connection: readiness, reconnects, 326, 1100/1102, pacing, and stray errors.

import { stays } from "@mesh/platform/testing/until";
import { expect } from "chai";
import net from "node:net";
import { BrokerError } from "../../src/broker/broker-error.js";
import { createIbkrBroker } from "../../src/broker/ibkr/ibkr-broker.js";
import {
  decodingErrors,
  eventually,
  startBrokerAgainstTws,
  testBrokerOptions,
  type BrokerAgainstTws,
  type LogRecord,
} from "../tws/ibkr-against-tws.js";
import { defaultInstruments, type InstrumentSpec } from "../tws/tws-market.js";
import { OUT } from "../tws/tws-messages.js";
import { startTwsServer } from "../tws/tws-server.js";

async function failure(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(BrokerError);
  return error as BrokerError;
}

describe("IBKR broker: connection", () => {
  let tws: BrokerAgainstTws | undefined;

  afterEach(async () => {
    await tws?.close();
    if (tws) {
      expect(decodingErrors(tws.logs), "library decoding errors").to.deep.equal([]);
      expect(tws.server.unknownMessages, "messages the server did not understand").to.deep.equal(
        [],
      );
    }
    tws = undefined;
  });

  it("is ready only once nextValidId arrived, and says where and as which client", async () => {
    const server = await startTwsServer({ nextValidIdDelayMs: 300 });
    const broker = createIbkrBroker(testBrokerOptions(server.port, []));
    try {
      const started = Date.now();
      await eventually(() => server.clientIds().includes(7));
      expect(broker.health().connected).to.equal(false);
      expect((await failure(broker.holdings("DU111111"))).code).to.equal("unavailable");
      await broker.ready();
      expect(Date.now() - started).to.be.at.least(250);
      expect(broker.health()).to.deep.equal({
        connected: true,
        detail: `connected to 127.0.0.1:${server.port} as client 7`,
        interruptions: 0,
      });
    } finally {
      await broker.close();
      await server.close();
    }
  });

  it("rejects ready() with unavailable while TWS is unreachable, and connects once it listens", async () => {
    const port = await freePort();
    const broker = createIbkrBroker({ ...testBrokerOptions(port, []), connectTimeoutMs: 300 });
    try {
      const error = await failure(broker.ready());
      expect(error).to.include({ code: "unavailable", retryable: true });
      expect(broker.health().connected).to.equal(false);
      expect(broker.health().detail).to.contain(`cannot connect to 127.0.0.1:${port}`);
      const server = await startTwsServer({ port });
      try {
        await eventually(() => broker.health().connected);
        expect(await broker.holdings("DU111111")).to.have.length(2);
      } finally {
        await broker.close();
        await server.close();
      }
    } finally {
      await broker.close();
    }
  });

  it("after a dropped socket fails requests as unavailable, then reconnects and works again", async () => {
    tws = await startBrokerAgainstTws({
      server: {
        instruments: [
          ...defaultInstruments(),
          { symbol: "SLOW", close: 10, completesSnapshot: false },
        ],
      },
      broker: { snapshotTimeoutMs: 5_000 },
    });
    const { broker, server } = tws;
    const inFlight = broker.quotes(["SLOW"]);
    await eventually(() => server.messageCount() > 0);
    server.dropConnections();

    const error = await failure(inFlight);
    expect(error).to.include({ code: "unavailable", retryable: true });
    expect(error.message).to.contain("connection to TWS lost");
    expect(broker.health().connected).to.equal(false);
    expect((await failure(broker.holdings("DU111111"))).code).to.equal("unavailable");

    await eventually(() => broker.health().connected);
    // Connected again, but the drop is remembered: a run waiting on fills must notice it.
    expect(broker.health().interruptions).to.equal(1);
    expect(await broker.holdings("DU111111")).to.have.length(2);
    expect((await broker.quotes(["SPY"])).get("SPY")?.price).to.equal(500);
    const placed = await broker.placeOrder({
      accountId: "DU111111",
      symbol: "SPY",
      side: "sell",
      quantity: 2,
      orderType: "market",
      timeInForce: "DAY",
      outsideRth: false,
      runId: "after-drop",
    });
    await eventually(() =>
      tws!.events.some((e) => e.order.orderId === placed.orderId && e.order.status === "filled"),
    );
  });

  it("reports fills that happened while it was disconnected (326 kept it out meanwhile)", async () => {
    tws = await startBrokerAgainstTws({ server: { fillParts: 2, fillIntervalMs: 150 } });
    const { broker, server, events } = tws;
    const placed = await broker.placeOrder({
      accountId: "DU111111",
      symbol: "VTI",
      side: "buy",
      quantity: 8,
      orderType: "market",
      timeInForce: "DAY",
      outsideRth: false,
      runId: "run-9",
    });
    await eventually(() => events.some((e) => e.kind === "fill"));
    // TWS still holds the dropped session's client id for a while: the reconnect meets 326.
    server.dropConnections({ holdClientIdsMs: 400 });
    await eventually(() => broker.health().detail.includes("IB 326"));
    await eventually(() => server.market.orders[0].status === "Filled");
    expect(broker.health().connected).to.equal(false);

    await eventually(
      () => events.some((e) => e.order.orderId === placed.orderId && e.order.status === "filled"),
      5_000,
    );
    expect(
      events.filter((e) => e.kind === "fill").map((e) => e.kind === "fill" && e.fill.quantity),
    ).to.deep.equal([4, 4]);
    expect(broker.health().detail).to.contain("as client 7");
  });

  it("declares a silent, half-open link lost within heartbeat interval + timeout, then reconnects", async () => {
    const heartbeat = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200 };
    tws = await startBrokerAgainstTws({ broker: heartbeat });
    const { broker, server } = tws;
    // An idle but answering link stays up through several heartbeats.
    await eventually(() => server.handled(OUT.REQ_CURRENT_TIME) >= 5);
    expect(broker.health()).to.include({ connected: true, interruptions: 0 });

    server.freeze();
    const bound = heartbeat.heartbeatIntervalMs + heartbeat.heartbeatTimeoutMs;
    // Generous slack for a loaded machine; the point is that it ends, unlike before.
    await eventually(() => !broker.health().connected, bound + 1_000);
    expect(broker.health().detail).to.match(
      /^no message from TWS at 127\.0\.0\.1:\d+ for \d+ ms although the socket is open \(heartbeat unanswered\)/,
    );
    expect(broker.health().interruptions).to.equal(1);
    expect(server.frozenSessions()).to.equal(1);

    await eventually(() => broker.health().connected, 5_000);
    expect(await broker.holdings("DU111111")).to.have.length(2);
  });

  it("moves to the next client id on 326 when configured to", async () => {
    tws = await startBrokerAgainstTws();
    const second = tws.connectAnother({ onClientIdInUse: "next" });
    await second.ready();
    expect(second.health().detail).to.contain("as client 8");
    expect(tws.server.clientIds().sort()).to.deep.equal([7, 8]);
    expect(tws.logs.some((r) => r.msg === "client id 7 is in use; trying client id 8")).to.equal(
      true,
    );
  });

  it("is unhealthy while TWS has lost IB (1100) and healthy again after it is restored (1102)", async () => {
    tws = await startBrokerAgainstTws();
    const { broker, server } = tws;
    server.loseConnectivity();
    await eventually(() => broker.health().detail.includes("IB 1100"));
    expect(broker.health().connected).to.equal(false);
    expect((await failure(broker.accountValues("DU111111"))).code).to.equal("unavailable");

    server.restoreConnectivity();
    await eventually(() => broker.health().connected, 5_000);
    expect((await broker.accountValues("DU111111")).netLiquidation).to.equal(26_250);
  });

  it("keeps under 50 messages per second while pricing many symbols", async function () {
    this.timeout(15_000);
    const many: InstrumentSpec[] = Array.from({ length: 60 }, (_, i) => ({
      symbol: `ETF${i}`,
      last: 10 + i,
    }));
    tws = await startBrokerAgainstTws({ server: { instruments: many } });
    tws.server.resetStats();
    const quotes = await tws.broker.quotes(many.map((i) => i.symbol));
    expect(quotes.size).to.equal(60);
    expect(tws.server.messageCount()).to.be.at.least(120); // contract details and a snapshot each
    expect(tws.server.maxMessagesPerSecond()).to.be.at.most(50);
  });

  it("survives stray IB errors, even one that hits a request in flight", async () => {
    tws = await startBrokerAgainstTws({
      server: {
        instruments: [
          ...defaultInstruments(),
          { symbol: "SLOW", close: 10, completesSnapshot: false },
        ],
      },
      broker: { snapshotTimeoutMs: 5_000 },
    });
    const { broker, server } = tws;
    const inFlight = broker.quotes(["SLOW"]);
    await eventually(() => server.messageCount() >= 4);
    // The pitfall: an order error (202) whose id equals a request id errors that request.
    for (let id = -1; id <= 50; id++) server.broadcastError(id, 202, "Order Canceled - reason:");
    const quotes = await inFlight;
    expect(quotes.has("SLOW")).to.equal(false);
    expect((await broker.quotes(["SPY"])).get("SPY")?.price).to.equal(500);
    expect(broker.health().connected).to.equal(true);
  });

  it("stops for good when closed", async () => {
    const logs: LogRecord[] = [];
    const server = await startTwsServer();
    const broker = createIbkrBroker(testBrokerOptions(server.port, logs));
    try {
      await broker.ready();
      await broker.close();
      await eventually(() => server.clientIds().length === 0);
      expect(broker.health()).to.include({ connected: false });
      expect(await failure(broker.holdings("DU111111"))).to.include({
        code: "unavailable",
        retryable: false,
      });
      // Longer than a reconnect delay: a closed broker must not connect again.
      await stays(() => server.clientIds().length === 0, 100, "no reconnect after close");
      expect(server.clientIds()).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
