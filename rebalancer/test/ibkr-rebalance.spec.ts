// The rebalancer with the IBKR adapter against the TWS-protocol test server: the real
// @stoqey/ib over TCP, the whole run from the gRPC client to the fills.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  FailureReason,
  Phase,
  RebalancerService,
  RunStatus,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createIbkrBroker, type IbkrBroker } from "../src/broker/ibkr/ibkr-broker.js";
import {
  decodingErrors,
  eventually,
  testBrokerOptions,
  type LogRecord,
} from "./tws/ibkr-against-tws.js";
import type { InstrumentSpec } from "./tws/tws-market.js";
import { orderStreamProblems } from "./support/order-stream-problems.js";
import { startTwsServer, type TwsServer } from "./tws/tws-server.js";

/** Open around the clock for the week around now, so the run is never postponed. */
function alwaysOpen(): string {
  const days: string[] = [];
  for (let offset = -2; offset <= 6; offset++) {
    const day = (n: number) =>
      new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
    days.push(`${day(offset)}:0000-${day(offset + 1)}:0000`);
  }
  return days.join(";");
}

const instruments: InstrumentSpec[] = [
  { symbol: "SPY", last: 500, bid: 499.9, ask: 500.1, close: 498 },
  { symbol: "VTI", last: 250, close: 249 },
  // Midpoint only and close only: the price fallbacks take part in a real run.
  { symbol: "QQQ", bid: 439.9, ask: 440.1, close: 438, primaryExchange: "NASDAQ" },
  { symbol: "BND", close: 72.5, primaryExchange: "NASDAQ" },
].map((i) => ({ ...i, tradingHours: alwaysOpen(), liquidHours: alwaysOpen() }));

describe("a paper rebalance through IB Gateway's protocol", () => {
  let tws: TwsServer;
  let broker: IbkrBroker;
  let app: RunningRebalancer;
  let client: Client<typeof RebalancerService>;
  const logs: LogRecord[] = [];

  async function start(fillIntervalMs: number) {
    tws = await startTwsServer({
      accounts: [
        {
          accountId: "DU111111",
          cash: 10_000,
          positions: {
            SPY: { quantity: 20, averageCost: 400 },
            VTI: { quantity: 10, averageCost: 200 },
          },
        },
      ],
      instruments,
      fillParts: 2,
      fillIntervalMs,
    });
    const dir = mkdtempSync(join(tmpdir(), "ibkr-run-"));
    writeFileSync(
      join(dir, "test-blend.yaml"),
      "allocations:\n  - { symbol: QQQ, allocation: 0.4 }\n  - { symbol: BND, allocation: 0.3 }\n" +
        "  - { symbol: SPY, allocation: 0.25 }\n",
    );
    writeFileSync(
      join(dir, "accounts.yaml"),
      "defaults: { allocation_url: 'file:{strategy}.yaml', min_order_value: 50 }\n" +
        "accounts:\n  - { account_id: DU111111, type: paper, strategy: test-blend }\n",
    );
    broker = createIbkrBroker(testBrokerOptions(tws.port, logs));
    await broker.ready();
    app = await startRebalancer({
      accountsFile: join(dir, "accounts.yaml"),
      dataDir: dir,
      broker,
      fillTimeoutMs: 10_000,
      // A lost link fails the run safe here; resuming within a window: ibkr-run-record.spec.ts.
      reconnectWindowMs: 0,
    });
    client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  }

  afterEach(async () => {
    await app.close(1_000); // closes the broker too
    await tws.close();
    expect(decodingErrors(logs)).to.deep.equal([]);
    logs.length = 0;
  });

  async function run(): Promise<RebalanceResponse[]> {
    const events: RebalanceResponse[] = [];
    for await (const event of client.rebalance({
      accountId: "DU111111",
      mode: ExecutionMode.LIVE,
      idempotencyKey: `ibkr-${Date.now()}`,
    })) {
      events.push(event);
    }
    return events;
  }

  it("cancels, sells, waits for the fills, re-reads cash, then buys, streaming every step", async () => {
    await start(10);
    const events = await run();
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    if (final.case !== "completed") return;
    expect(final.value.status).to.equal(RunStatus.COMPLETED);

    const phases = events.flatMap((e) => (e.event.case === "phase" ? [e.event.value.phase] : []));
    expect(phases.filter((p) => p >= Phase.CANCELLING_OPEN_ORDERS)).to.deep.equal([
      Phase.PREFLIGHT,
      Phase.CANCELLING_OPEN_ORDERS,
      Phase.SELLING,
      Phase.REFRESHING_CASH,
      Phase.BUYING,
    ]);
    expect(events.filter((e) => e.event.case === "orderFilled").length).to.be.greaterThan(2);

    // At the server: every sell is placed before the first buy, with the run id as orderRef.
    const actions = tws.market.orders.map((o) => o.action);
    expect(actions.indexOf("BUY")).to.be.greaterThan(actions.lastIndexOf("SELL"));
    expect(new Set(tws.market.orders.map((o) => o.orderRef))).to.deep.equal(
      new Set([events[0]!.runId]),
    );
    const held = tws.market.accounts.get("DU111111")!.positions;
    expect(held.get("VTI")?.quantity ?? 0).to.equal(0);
    expect(held.get("QQQ")?.quantity).to.be.greaterThan(0);
    expect(held.get("BND")?.quantity).to.be.greaterThan(0);
    expect(tws.market.accounts.get("DU111111")!.cash).to.be.at.least(0);
  });

  it("streams each order forward only: submitted first, its fills never going back", async () => {
    // Fills at once: TWS's acknowledgement, status and executions arrive in one read, before
    // placeOrder's promise resumes the run.
    await start(0);
    const events = await run();
    expect(events.at(-1)!.event.case).to.equal("completed");
    expect(orderStreamProblems(events)).to.deep.equal([]);
    expect(events.filter((e) => e.event.case === "orderFilled").length).to.be.greaterThan(2);
  });

  it("completes the run when TWS sends 10349 on a sell before and after confirming it", async () => {
    await start(10);
    const text = "Order TIF was set to DAY based on order preset.";
    tws.market.injectOrderError({ code: 10349, message: text, when: "beforeAck" });
    tws.market.injectOrderError({ code: 10349, message: text, when: "afterAck" });
    const events = await run();
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    if (final.case !== "completed") return;
    expect(final.value.status).to.equal(RunStatus.COMPLETED);
    const [first] = tws.market.orders;
    expect(first.action).to.equal("SELL");
    // Every order filled at the server, sells before buys, and the buys were placed.
    expect(tws.market.orders.map((o) => o.status)).to.satisfy((s: string[]) =>
      s.every((status) => status === "Filled"),
    );
    const actions = tws.market.orders.map((o) => o.action);
    expect(actions).to.include("BUY");
    expect(actions.indexOf("BUY")).to.be.greaterThan(actions.lastIndexOf("SELL"));
    // The run's record equals the server's orders: same ids, every one filled in full.
    const recorded = final.value.orders.map((o) => `${o.orderId}:${o.symbol}:${o.filledQuantity}`);
    const atServer = tws.market.orders.map((o) => `${o.orderId}:${o.symbol}:${o.filled}`);
    expect(new Set(recorded)).to.deep.equal(new Set(atServer));
  });

  it("fails the run with no buys when the connection drops mid-run, then reconnects by itself", async () => {
    await start(400);
    const events: RebalanceResponse[] = [];
    let dropped = false;
    const stream = client.rebalance({
      accountId: "DU111111",
      mode: ExecutionMode.LIVE,
      idempotencyKey: "drop",
    });
    for await (const event of stream) {
      events.push(event);
      // Drop once the sells are placed and the first one has partly filled.
      if (event.event.case === "orderFilled" && !dropped) {
        dropped = true;
        tws.dropConnections();
      }
    }
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.BROKER_UNAVAILABLE);
    expect(final.value.message).to.match(
      /^connection to the broker lost while waiting for the sells to fill; nothing more was placed/,
    );
    expect(tws.market.orders.filter((o) => o.action === "BUY")).to.deep.equal([]);

    await eventually(() => broker.health().connected, 5_000);
    const positions = await client.getPositions({ accountId: "DU111111" });
    expect(positions.positions.map((p) => p.symbol)).to.include("SPY");
  });
});
