// IB's messages on an order id that do not end it (10349 and the like): the adapter keeps the
// order, records the message as a warning and follows IB's status to the end.

import { expect } from "chai";
import type { IbkrBrokerOptions } from "../../src/broker/ibkr/ibkr-broker.js";
import type { OrderRequest } from "../../src/broker/broker.js";
import {
  decodingErrors,
  eventually,
  startBrokerAgainstTws,
  type BrokerAgainstTws,
} from "../tws/ibkr-against-tws.js";
import type { OrderErrorFault } from "../tws/tws-market.js";

const sellSpy: OrderRequest = {
  accountId: "DU111111",
  symbol: "SPY",
  side: "sell",
  quantity: 10,
  orderType: "market",
  timeInForce: "DAY",
  outsideRth: false,
  runId: "run-9",
};

const TIF_PRESET = "Order TIF was set to DAY based on order preset.";

describe("IBKR broker: informational messages on orders", () => {
  let tws: BrokerAgainstTws;

  async function start(broker: Partial<IbkrBrokerOptions> = {}) {
    tws = await startBrokerAgainstTws({ server: { fillParts: 2, fillIntervalMs: 10 }, broker });
  }

  afterEach(async () => {
    await tws.close();
    expect(decodingErrors(tws.logs), "library decoding errors").to.deep.equal([]);
  });

  /** Places the sell with `fault` injected and waits until the adapter reports it filled. */
  async function sellWith(fault: OrderErrorFault) {
    tws.server.market.injectOrderError(fault);
    const placed = await tws.broker.placeOrder(sellSpy);
    const done = await eventually(() =>
      tws.events.find((e) => e.order.orderId === placed.orderId && e.order.status === "filled"),
    );
    return { placed, last: done.order };
  }

  /** The adapter's view equals the server's: status, filled and the executions' sum. */
  function expectEqualsServer(filled: number) {
    const [order] = tws.server.market.orders;
    expect(order.status).to.equal("Filled");
    const executed = tws.server.market.executions.reduce((sum, e) => sum + e.shares, 0);
    expect(executed).to.equal(filled);
    expect(order.filled).to.equal(filled);
  }

  for (const when of ["beforeAck", "afterAck"] as const) {
    it(`keeps following an order that got 10349 ${when === "beforeAck" ? "before" : "after"} TWS confirmed it`, async () => {
      await start();
      const { placed, last } = await sellWith({ code: 10349, message: TIF_PRESET, when });
      expect(placed.status).to.equal("submitted");
      expect(last).to.include({ status: "filled", filledQuantity: 10 });
      expect(last.warnings).to.deep.equal([`IB 10349: ${TIF_PRESET}`]);
      const states = tws.events.filter((e) => e.order.orderId === placed.orderId);
      expect(states.map((e) => e.order.status)).to.not.include("rejected");
      expectEqualsServer(10);
    });
  }

  it("treats a 201 after the acknowledgement as a warning and follows IB's status", async () => {
    await start();
    const { last } = await sellWith({
      code: 201,
      message: "Order rejected - reason:late",
      when: "afterAck",
    });
    expect(last).to.include({ status: "filled", filledQuantity: 10 });
    expect(last.warnings).to.deep.equal(["IB 201: Order rejected - reason:late"]);
    expectEqualsServer(10);
  });

  it("still rejects on 201 answering the placeOrder, unless the operator lists it as informational", async () => {
    await start();
    tws.server.market.injectOrderError({
      code: 201,
      message: "Order rejected - reason:x",
      when: "beforeAck",
    });
    const error = await tws.broker.placeOrder(sellSpy).catch((e: unknown) => e);
    expect(error).to.include({ code: "order_rejected", brokerCode: 201 });
    await tws.close();

    await start({ informationalCodes: [201] });
    const { last } = await sellWith({
      code: 201,
      message: "Order rejected - reason:x",
      when: "beforeAck",
    });
    expect(last).to.include({ status: "filled", filledQuantity: 10 });
    expectEqualsServer(10);
  });
});
