// A run's record equals the broker: the rebalancer with the IBKR adapter against the TWS test
// server while the link goes silent, drops mid-sell, TWS sends a late 201, or another client has
// orders resting. After each, GET /runs/{id} shows exactly the server's orders and executions,
// and no buy follows a sell whose outcome was not confirmed: without a reconnect window the run
// fails safe, within one it resumes once the link is back.
import {
  FailureReason,
  OrderStatus,
  Phase,
  ResumeCause,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import type { RebalancerAppOptions, RunningRebalancer } from "../src/app.js";
import type { IbkrBroker, IbkrBrokerOptions } from "../src/broker/ibkr/ibkr-broker.js";
import type { ForeignOpenOrders } from "../src/execution/execution-deps.js";
import { orderStreamProblems } from "./support/order-stream-problems.js";
import {
  recordAndServer,
  startRebalancerAgainstTws,
  type RebalancerAgainstTws,
} from "./support/rebalancer-against-tws.js";
import { eventually } from "./tws/ibkr-against-tws.js";
import type { TwsServer, TwsServerOptions } from "./tws/tws-server.js";

describe("a run's record equals the broker (IBKR against the TWS test server)", () => {
  let h: RebalancerAgainstTws;
  let tws: TwsServer;
  let app: RunningRebalancer;
  let broker: IbkrBroker;

  async function start(
    server: TwsServerOptions,
    options: Partial<IbkrBrokerOptions> = {},
    foreignOpenOrders?: ForeignOpenOrders,
    appOptions: Partial<RebalancerAppOptions> = {},
  ) {
    h = await startRebalancerAgainstTws(server, options, foreignOpenOrders, appOptions);
    ({ tws, app, broker } = h);
  }

  afterEach(() => h.close());

  const run = (key: string) => h.run(key);
  const recordOf = (runId: string) => h.recordOf(runId);

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

  // Without a reconnect window (BROKER_RECONNECT_WINDOW=0) a run fails safe when its link is lost.
  const failSafe = { reconnectWindowMs: 0 };

  it("turns health NOT_SERVING on a frozen link, fails the run safe and records what the server did", async () => {
    // The link freezes right after the first sell; the second is written into the void.
    await start(
      { fillIntervalMs: 50, freezeAfterOrders: 1 },
      { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200, reconnectInitialDelayMs: 800 },
      undefined,
      failSafe,
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
    await start({ fillIntervalMs: 150, dropAfterSellExecutions: 1 }, {}, undefined, failSafe);
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

  describe("with the link back within the reconnect window", () => {
    const window = { reconnectWindowMs: 10_000 };

    /** Every sell of the run filled at the server before its first buy was placed. */
    function buysAfterEverySellFilled(runId: string): boolean {
      const own = tws.market.orders.filter((o) => o.orderRef === runId);
      const firstBuy = own.findIndex((o) => o.action === "BUY");
      if (firstBuy < 0) return false;
      const sells = own.filter((o) => o.action === "SELL");
      const lastSellFill = Math.max(
        ...tws.market.executions
          .filter((e) => e.order.orderRef === runId && e.order.action === "SELL")
          .map((e) => tws.market.executions.indexOf(e)),
      );
      const firstBuyFill = tws.market.executions.findIndex(
        (e) => e.order.orderRef === runId && e.order.action === "BUY",
      );
      return sells.every((o) => o.status === "Filled") && firstBuyFill > lastSellFill;
    }

    it("after a drop mid-sell, resumes: reconciles the fills made while away, buys only once every sell filled, completes", async () => {
      await start({ fillIntervalMs: 150, dropAfterSellExecutions: 1 }, {}, undefined, window);
      const events = await run("drop-resume");
      const final = events.at(-1)!.event;
      expect(final.case, JSON.stringify(final.value)).to.equal("completed");
      const resumed = events.find((e) => e.event.case === "resumed")?.event;
      expect(resumed?.case).to.equal("resumed");
      if (resumed?.case !== "resumed") return;
      expect(resumed.value.cause).to.equal(ResumeCause.BROKER_RECONNECTED);
      expect(resumed.value.phase).to.equal(Phase.SELLING);
      const runId = events[0]!.runId;
      expect(buysAfterEverySellFilled(runId)).to.equal(true);
      // One order per symbol and side: nothing placed twice.
      const own = tws.market.orders.filter((o) => o.orderRef === runId);
      const lines = own.map((o) => `${o.action} ${o.symbol}`);
      expect(new Set(lines).size).to.equal(lines.length);
      const { record, server } = recordAndServer(await recordOf(runId), tws.market);
      expect(record).to.deep.equal(server);
      expect(orderStreamProblems(events)).to.deep.equal([]);
    });

    it("on a frozen link, resumes once reconnected: the sell written into the void is placed again, and the record equals the server", async () => {
      await start(
        { fillIntervalMs: 50, freezeAfterOrders: 1 },
        { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200, reconnectInitialDelayMs: 800 },
        undefined,
        window,
      );
      const events = await run("freeze-resume");
      const final = events.at(-1)!.event;
      expect(final.case, JSON.stringify(final.value)).to.equal("completed");
      expect(tws.frozenSessions()).to.equal(1);
      const resumed = events.find((e) => e.event.case === "resumed")?.event;
      expect(resumed?.case === "resumed" && resumed.value.cause).to.equal(
        ResumeCause.BROKER_RECONNECTED,
      );
      const runId = events[0]!.runId;
      expect(buysAfterEverySellFilled(runId)).to.equal(true);
      const own = tws.market.orders.filter((o) => o.orderRef === runId);
      const lines = own.map((o) => `${o.action} ${o.symbol}`);
      expect(new Set(lines).size).to.equal(lines.length);
      const { record, server } = recordAndServer(await recordOf(runId), tws.market);
      expect(record).to.deep.equal(server);
      expect(orderStreamProblems(events)).to.deep.equal([]);
    });
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
