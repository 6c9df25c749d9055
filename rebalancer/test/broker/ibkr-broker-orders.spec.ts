// The IBKR adapter placing, following and cancelling orders against the test TWS server.

import { expect } from "chai";
import { BrokerError } from "../../src/broker/broker-error.js";
import type { OrderEvent, OrderRequest } from "../../src/broker/broker.js";
import {
  decodingErrors,
  eventually,
  startBrokerAgainstTws,
  type BrokerAgainstTws,
} from "../tws/ibkr-against-tws.js";

const buySpy = (changes: Partial<OrderRequest> = {}): OrderRequest => ({
  accountId: "DU111111",
  symbol: "SPY",
  side: "buy",
  quantity: 10,
  orderType: "market",
  timeInForce: "DAY",
  outsideRth: false,
  runId: "run-7",
  ...changes,
});

/** "status:<state>:<filled>" or "fill:<quantity>@<price>", for comparing sequences. */
function summary(events: OrderEvent[], orderId: string): string[] {
  return events
    .filter((e) => e.order.orderId === orderId)
    .map((e) =>
      e.kind === "fill"
        ? `fill:${e.fill.quantity}@${e.fill.price}`
        : `status:${e.order.status}:${e.order.filledQuantity}`,
    );
}

describe("IBKR broker: orders", () => {
  let tws: BrokerAgainstTws;

  beforeEach(async () => {
    tws = await startBrokerAgainstTws({ server: { fillParts: 2, fillIntervalMs: 10 } });
  });

  afterEach(async () => {
    await tws.close();
    expect(decodingErrors(tws.logs), "library decoding errors").to.deep.equal([]);
    expect(tws.server.unknownMessages, "messages the server did not understand").to.deep.equal([]);
  });

  it("places a market order from the high id base and follows partial fills until filled", async () => {
    const placed = await tws.broker.placeOrder(buySpy());
    expect(Number(placed.orderId)).to.be.at.least(1_000_000);
    expect(placed).to.include({
      status: "submitted",
      runId: "run-7",
      accountId: "DU111111",
      quantity: 10,
    });

    await eventually(() =>
      tws.events.some((e) => e.order.orderId === placed.orderId && e.order.status === "filled"),
    );
    expect(summary(tws.events, placed.orderId)).to.deep.equal([
      "status:submitted:0",
      "fill:5@500.1",
      "status:partially_filled:5",
      "fill:5@500.1",
      "status:filled:10",
    ]);
    const last = tws.events.at(-1)!.order;
    expect(last).to.include({ filledQuantity: 10, averageFillPrice: 500.1 });
    const fill = tws.events.find((e) => e.kind === "fill");
    expect(fill?.kind === "fill" && fill.fill).to.include({
      accountId: "DU111111",
      symbol: "SPY",
      side: "buy",
    });
  });

  it("sends account, time in force, outsideRth and the run id (as orderRef) to TWS", async () => {
    const placed = await tws.broker.placeOrder(
      buySpy({ orderType: "limit", limitPrice: 400, timeInForce: "GTC", outsideRth: true }),
    );
    const atTws = tws.server.market.orders.find((o) => String(o.orderId) === placed.orderId);
    expect(atTws).to.include({
      accountId: "DU111111",
      orderType: "LMT",
      limitPrice: 400,
      tif: "GTC",
      outsideRth: true,
      orderRef: "run-7",
      transmit: true,
      clientId: 7,
    });
  });

  it("updates positions and cash after fills", async () => {
    const placed = await tws.broker.placeOrder(buySpy({ quantity: 4 }));
    await eventually(() =>
      tws.events.some((e) => e.order.orderId === placed.orderId && e.order.status === "filled"),
    );
    const spy = (await tws.broker.holdings("DU111111")).find((h) => h.symbol === "SPY");
    expect(spy?.quantity).to.equal(14);
    expect((await tws.broker.accountValues("DU111111")).cash).to.be.closeTo(
      20_000 - 4 * 500.1,
      0.01,
    );
  });

  it("rejects an order IB refuses (201) with IB's reason, and reports it rejected", async () => {
    tws.server.market.rejectNextOrder("Insufficient buying power for this order");
    const error = await tws.broker.placeOrder(buySpy()).catch((e: unknown) => e);
    expect(error)
      .to.be.instanceOf(BrokerError)
      .and.include({ code: "order_rejected", retryable: false, brokerCode: 201 });
    expect((error as Error).message).to.contain("Insufficient buying power for this order");

    const rejected = await eventually(() => tws.events.find((e) => e.order.status === "rejected"));
    expect(rejected.order.message).to.equal("Insufficient buying power for this order");
    // IB follows the rejection with "Cancelled"; the order stays rejected.
    await eventually(() => tws.server.market.orders[0]?.status === "Cancelled");
    expect(
      tws.events
        .filter((e) => e.order.orderId === rejected.order.orderId)
        .map((e) => e.order.status),
    ).to.deep.equal(["rejected"]);
  });

  it("rejects an order for a symbol IB does not know with no_such_symbol", async () => {
    const error = await tws.broker
      .placeOrder(buySpy({ symbol: "NOSUCH" }))
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(BrokerError).and.include({ code: "no_such_symbol" });
    expect(tws.server.market.orders).to.deep.equal([]);
  });

  it("refuses malformed orders before sending anything", async () => {
    for (const bad of [
      buySpy({ quantity: 0 }),
      buySpy({ quantity: 1.5 }),
      buySpy({ orderType: "limit" }),
    ]) {
      const error = await tws.broker.placeOrder(bad).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(BrokerError).and.include({ code: "order_rejected" });
    }
    const unknown = await tws.broker
      .placeOrder(buySpy({ accountId: "DU999999" }))
      .catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(BrokerError).and.include({ code: "unknown_account" });
    expect(tws.server.market.orders).to.deep.equal([]);
  });

  it("lists resting limit and market-on-close orders, and confirms a cancel", async () => {
    const limit = await tws.broker.placeOrder(
      buySpy({ orderType: "limit", limitPrice: 300, timeInForce: "GTC" }),
    );
    const moc = await tws.broker.placeOrder(
      buySpy({ side: "sell", quantity: 2, orderType: "market_on_close" }),
    );
    await tws.broker.placeOrder(
      buySpy({ accountId: "DU222222", orderType: "limit", limitPrice: 300, quantity: 1 }),
    );

    const open = await tws.broker.openOrders("DU111111");
    expect(open.map((o) => [o.orderId, o.orderType, o.status, o.runId])).to.deep.equal([
      [limit.orderId, "limit", "submitted", "run-7"],
      [moc.orderId, "market_on_close", "submitted", "run-7"],
    ]);

    await tws.broker.cancelOrder(limit.orderId);
    await eventually(() =>
      tws.events.some((e) => e.order.orderId === limit.orderId && e.order.status === "cancelled"),
    );
    expect((await tws.broker.openOrders("DU111111")).map((o) => o.orderId)).to.deep.equal([
      moc.orderId,
    ]);

    tws.server.market.closeAuction();
    const filled = await eventually(() =>
      tws.events.find((e) => e.order.orderId === moc.orderId && e.order.status === "filled"),
    );
    expect(filled.order).to.include({ filledQuantity: 2, averageFillPrice: 498 });
  });

  it("cancels every working order with a global cancel (202 for each)", async () => {
    const first = await tws.broker.placeOrder(buySpy({ orderType: "limit", limitPrice: 300 }));
    const second = await tws.broker.placeOrder(
      buySpy({ accountId: "DU222222", orderType: "limit", limitPrice: 300, quantity: 1 }),
    );
    await tws.broker.cancelAllOrders();
    for (const placed of [first, second]) {
      await eventually(() =>
        tws.events.some(
          (e) => e.order.orderId === placed.orderId && e.order.status === "cancelled",
        ),
      );
    }
    expect(tws.server.market.workingOrders()).to.deep.equal([]);
  });

  it("lists another client's order by perm id and will not cancel it alone", async () => {
    const other = tws.connectAnother({ clientId: 9 });
    await other.ready();
    await other.placeOrder(buySpy({ orderType: "limit", limitPrice: 300, runId: "run-other" }));
    const [foreign] = await tws.broker.openOrders("DU111111");
    expect(foreign.orderId).to.match(/^perm:\d+$/);
    expect(foreign.runId).to.equal("run-other");
    const error = await tws.broker.cancelOrder(foreign.orderId).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(BrokerError).and.include({ code: "order_rejected" });
  });

  describe("while orders of several runs are placed and read at once", () => {
    let held: BrokerAgainstTws;
    beforeEach(async () => {
      held = await startBrokerAgainstTws({ server: { holdFills: true } });
    });
    afterEach(() => held.close());

    it("never takes another run's order placed during a read of open orders for a cancelled one", async () => {
      const since = new Date();
      // The account and the contract known already: the next order goes out at once.
      await held.broker.placeOrder(buySpy({ runId: "run-1" }));
      // A read of open orders in flight (a run checking for foreign orders), then another run's
      // order, then a run reconciling: the library would hand it the read begun before that order.
      const reading = held.broker.openOrders("DU111111");
      const placing = held.broker.placeOrder(buySpy({ runId: "run-2" }));
      const activity = held.broker.runActivity("DU111111", "run-1", since);
      const [, second] = await Promise.all([reading, placing, activity]);
      await held.broker.runActivity("DU111111", "run-2", since);
      const statuses = held.events
        .filter((e) => e.order.orderId === second.orderId)
        .map((e) => e.order.status);
      expect(statuses, "the second order is working").to.not.include("cancelled");
      const open = await held.broker.openOrders("DU111111");
      expect(open.map((o) => o.runId).sort()).to.deep.equal(["run-1", "run-2"]);
    });
  });
});
