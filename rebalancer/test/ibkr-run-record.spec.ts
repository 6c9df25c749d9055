// A run's record equals the broker: the rebalancer with the IBKR adapter against the TWS test
// server while the link goes silent, drops mid-sell, or TWS sends a late 201. After each, GET
// /runs/{id} shows exactly the server's orders and executions, and no buy follows a sell whose
// outcome was not confirmed.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  FailureReason,
  OrderStatus,
  RebalancerService,
  GetRunResponseSchema,
  RunStatus,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import {
  createIbkrBroker,
  type IbkrBroker,
  type IbkrBrokerOptions,
} from "../src/broker/ibkr/ibkr-broker.js";
import type { ForeignOpenOrders } from "../src/execution/execution-deps.js";
import { orderStreamProblems } from "./support/order-stream-problems.js";
import {
  decodingErrors,
  eventually,
  testBrokerOptions,
  type LogRecord,
} from "./tws/ibkr-against-tws.js";
import type { InstrumentSpec, TwsMarket } from "./tws/tws-market.js";
import { startTwsServer, type TwsServer, type TwsServerOptions } from "./tws/tws-server.js";

/** Open around the clock for the week around now, so the run is never postponed. */
function alwaysOpen(): string {
  const day = (n: number) =>
    new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
  const days: string[] = [];
  for (let offset = -2; offset <= 6; offset++)
    days.push(`${day(offset)}:0000-${day(offset + 1)}:0000`);
  return days.join(";");
}

const instruments: InstrumentSpec[] = [
  { symbol: "SPY", last: 500, bid: 499.9, ask: 500.1, close: 498 },
  { symbol: "VTI", last: 250, close: 249 },
  { symbol: "QQQ", bid: 439.9, ask: 440.1, close: 438, primaryExchange: "NASDAQ" },
  { symbol: "BND", close: 72.5, primaryExchange: "NASDAQ" },
  // Not in the plan: where another client's resting order may be left alone.
  { symbol: "IWM", last: 200, close: 199 },
].map((i) => ({ ...i, tradingHours: alwaysOpen(), liquidHours: alwaysOpen() }));

/** IB's status words as the contract's, for an order at the server. */
function statusAtServer(status: string, filled: number): string {
  if (status === "Filled") return "FILLED";
  if (status === "Cancelled" || status === "ApiCancelled") return "CANCELLED";
  if (status === "PendingSubmit") return "PENDING_SUBMIT";
  return filled > 0 ? "PARTIALLY_FILLED" : "SUBMITTED";
}

/** The record's orders and fills next to the server's, in one comparable shape. */
function recordAndServer(run: Run, market: TwsMarket) {
  const own = market.orders.filter((o) => o.orderRef === run.runId);
  const executions = market.executions.filter((e) => e.order.orderRef === run.runId);
  return {
    record: {
      orders: run.orders
        .map(
          (o) =>
            `${o.orderId} ${o.symbol} ${OrderStatus[o.status]} ${o.filledQuantity}/${o.quantity}`,
        )
        .sort(),
      fills: run.fills.map((f) => `${f.executionId} ${f.orderId} ${f.quantity}@${f.price}`).sort(),
    },
    server: {
      orders: own
        .map(
          (o) =>
            `${o.orderId} ${o.symbol} ${statusAtServer(o.status, o.filled)} ${o.filled}/${o.quantity}`,
        )
        .sort(),
      fills: executions.map((e) => `${e.execId} ${e.order.orderId} ${e.shares}@${e.price}`).sort(),
    },
  };
}

describe("a run's record equals the broker (IBKR against the TWS test server)", () => {
  let tws: TwsServer;
  let broker: IbkrBroker;
  let app: RunningRebalancer;
  let client: Client<typeof RebalancerService>;
  const logs: LogRecord[] = [];

  async function start(
    server: TwsServerOptions,
    options: Partial<IbkrBrokerOptions> = {},
    foreignOpenOrders?: ForeignOpenOrders,
  ) {
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
      ...server,
    });
    const dir = mkdtempSync(join(tmpdir(), "ibkr-record-"));
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
    broker = createIbkrBroker({ ...testBrokerOptions(tws.port, logs), ...options });
    await broker.ready();
    app = await startRebalancer({
      accountsFile: join(dir, "accounts.yaml"),
      dataDir: dir,
      broker,
      fillTimeoutMs: 10_000,
      foreignOpenOrders,
    });
    client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  }

  afterEach(async () => {
    await app.close(1_000); // closes the broker too
    await tws.close();
    expect(decodingErrors(logs)).to.deep.equal([]);
    logs.length = 0;
  });

  async function run(key: string): Promise<RebalanceResponse[]> {
    const events: RebalanceResponse[] = [];
    for await (const event of client.rebalance({
      accountId: "DU111111",
      mode: ExecutionMode.LIVE,
      idempotencyKey: key,
    })) {
      events.push(event);
    }
    return events;
  }

  /** GET /runs/{id} over REST, as an operator reads it. */
  async function recordOf(runId: string): Promise<Run> {
    const response = await fetch(`${app.url}/runs/${runId}`);
    expect(response.status).to.equal(200);
    return fromJson(GetRunResponseSchema, (await response.json()) as JsonValue).run!;
  }

  /** Waits until every order of the run has settled at the server (the market goes on). */
  async function serverSettled(runId: string) {
    await eventually(
      () =>
        tws.market.orders
          .filter((o) => o.orderRef === runId)
          .every((o) => ["Filled", "Cancelled"].includes(o.status)),
      5_000,
    );
  }

  it("turns health NOT_SERVING on a frozen link, fails the run safe and records what the server did", async () => {
    // The link freezes right after the first sell; the second is written into the void.
    await start(
      { fillIntervalMs: 50, freezeAfterOrders: 1 },
      { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200, reconnectInitialDelayMs: 800 },
    );
    // Health as a load balancer sees it, polled while the run goes on.
    const health: { status: number; broker: string }[] = [];
    let running = true;
    const polling = (async () => {
      while (running) {
        const response = await fetch(`${app.url}/health`);
        const body = (await response.json()) as { components: { name: string; detail: string }[] };
        const detail = body.components.find((c) => c.name === "broker")?.detail ?? "";
        health.push({ status: response.status, broker: detail });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const events = await run("freeze").finally(() => (running = false));
    await polling;
    expect(health[0]?.status).to.equal(200);
    const down = health.find((h) => h.status === 503);
    expect(down?.broker, JSON.stringify(health.slice(-3))).to.contain("heartbeat unanswered");
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.BROKER_UNAVAILABLE);
    expect(tws.frozenSessions()).to.equal(1);
    // Nothing was bought after a sell whose fills the run never saw.
    expect(tws.market.orders.filter((o) => o.action === "BUY")).to.deep.equal([]);
    // The first sell filled at the server while the link was silent; the record says so.
    const runId = events[0]!.runId;
    await serverSettled(runId);
    const { record, server } = recordAndServer(await recordOf(runId), tws.market);
    expect(server.orders).to.have.length(1);
    expect(server.orders[0]).to.match(/ FILLED /);
    expect(record).to.deep.equal(server);
    expect(orderStreamProblems(events)).to.deep.equal([]);
    await eventually(() => broker.health().connected, 5_000);
  });

  it("after a drop mid-sell, records the fills made while it was away and buys nothing", async () => {
    // Slow fills: both sells are placed before the first execution, which drops the link.
    await start({ fillIntervalMs: 150, dropAfterSellExecutions: 1 });
    const events = await run("drop-after-sell");
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.BROKER_UNAVAILABLE);
    expect(final.value.message).to.not.contain("could not be asked");
    expect(tws.market.orders.filter((o) => o.action === "BUY")).to.deep.equal([]);
    const runId = events[0]!.runId;
    // The final event already carries the broker's view: every sell filled, every execution.
    const sells = tws.market.orders.filter((o) => o.orderRef === runId);
    expect(sells.map((o) => o.status)).to.deep.equal(["Filled", "Filled"]);
    const { record, server } = recordAndServer(await recordOf(runId), tws.market);
    expect(server.fills).to.have.length(4);
    expect(record).to.deep.equal(server);
    expect(
      final.value.orders.map((o) => `${o.orderId} ${OrderStatus[o.status]} ${o.filledQuantity}`),
    ).to.have.members(sells.map((o) => `${o.orderId} FILLED ${o.filled}`));
    expect(orderStreamProblems(events)).to.deep.equal([]);
  });

  it("completes a run whose sell gets a late 201 after its acknowledgement, recording the server's fills", async () => {
    await start({ fillIntervalMs: 10 });
    tws.market.injectOrderError({
      code: 201,
      message: "Order rejected - reason:late",
      when: "afterAck",
    });
    const events = await run("late-201");
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    if (final.case !== "completed") return;
    expect(final.value.status).to.equal(RunStatus.COMPLETED);
    const runId = events[0]!.runId;
    expect(tws.market.orders.map((o) => o.status).every((s) => s === "Filled")).to.equal(true);
    const { record, server } = recordAndServer(await recordOf(runId), tws.market);
    expect(record).to.deep.equal(server);
    expect(orderStreamProblems(events)).to.deep.equal([]);
  });

  describe("with open orders another client placed", () => {
    function restingOrders() {
      const market = tws.market;
      const byClient = market.addForeignRestingOrder({
        clientId: 3,
        orderId: 41,
        accountId: "DU111111",
        symbol: "SPY",
        action: "SELL",
        quantity: 5,
      });
      const byHand = market.addForeignRestingOrder({
        clientId: 0,
        orderId: 0,
        accountId: "DU111111",
        symbol: "IWM",
        action: "BUY",
        quantity: 7,
      });
      return { byClient, byHand };
    }

    it("refuses before trading, listing each order, who placed it and what to do", async () => {
      await start({ fillIntervalMs: 10 });
      const { byClient, byHand } = restingOrders();
      const events = await run("foreign-refused");
      const final = events.at(-1)!.event;
      expect(final.case).to.equal("failed");
      if (final.case !== "failed") return;
      expect(final.value.reason).to.equal(FailureReason.OPEN_ORDERS_NOT_CANCELLED);
      expect(final.value.message).to.equal(
        "refusing to trade on DU111111: 2 open orders were placed by another client and cannot " +
          `be cancelled from here: order perm:${byClient.permId}: sell 5 SPY (placed by API client 3); ` +
          `order perm:${byHand.permId}: buy 7 IWM (placed by TWS or API client 0). Nothing was ` +
          "cancelled or traded. Cancel them in TWS or from the client that placed them (or with a " +
          "global cancel), then run again; or, to leave other clients' orders on symbols this " +
          "plan does not trade in place, set FOREIGN_OPEN_ORDERS=ignore-untraded-symbols",
      );
      // Nothing placed, nothing cancelled: the server holds just the two resting orders.
      expect(tws.market.orders.map((o) => `${o.clientId}:${o.status}`)).to.deep.equal([
        "3:Submitted",
        "0:Submitted",
      ]);
    });

    it("when told to, leaves those on untraded symbols alone, but still refuses on traded ones", async () => {
      await start({ fillIntervalMs: 10 }, {}, "ignore_untraded_symbols");
      const { byClient, byHand } = restingOrders();
      const refused = (await run("foreign-traded")).at(-1)!.event;
      expect(refused.case).to.equal("failed");
      if (refused.case !== "failed") return;
      expect(refused.value.message).to.contain(
        `1 open order was placed by another client and cannot be cancelled from here: order perm:${byClient.permId}: sell 5 SPY (placed by API client 3)`,
      );
      expect(refused.value.message).to.not.contain("IWM");
      expect(refused.value.message).to.not.contain("FOREIGN_OPEN_ORDERS");
      expect(tws.market.orders).to.have.length(2);

      // The other client cancels its SPY order; the IWM order placed by hand stays.
      byClient.status = "Cancelled";
      const events = await run("foreign-untraded");
      const final = events.at(-1)!.event;
      expect(final.case, JSON.stringify(final.value)).to.equal("completed");
      expect(byHand.status).to.equal("Submitted");
      const { record, server } = recordAndServer(await recordOf(events[0]!.runId), tws.market);
      expect(record).to.deep.equal(server);
      expect(server.orders.length).to.be.greaterThan(2);
    });
  });
});
