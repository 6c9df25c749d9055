import { expect } from "chai";
import type { OrderRequest } from "../broker/broker.js";
import { createSimBroker, type SimBroker } from "../broker/sim/sim-broker.js";
import { cancelAndWait } from "./cancel-and-wait.js";

const request = (symbol: string): OrderRequest => ({
  accountId: "DU1000001",
  symbol,
  side: "buy",
  quantity: 1,
  orderType: "market",
  timeInForce: "DAY",
  outsideRth: false,
  runId: "run-earlier",
});

/** The bundled sim, with two orders working (never filling) on DU1000001. */
async function withWorkingOrders(): Promise<SimBroker> {
  const broker = createSimBroker({ unfilled: () => true, fillDelayMs: 1 });
  await broker.placeOrder(request("SPY"));
  await broker.placeOrder(request("TLT"));
  return broker;
}

describe("cancelling working orders and waiting for the broker (cancelAndWait)", () => {
  it("cancels each order read and resolves once the broker says each is cancelled", async () => {
    const broker = await withWorkingOrders();
    const outcome = await cancelAndWait(broker, () => broker.openOrders("DU1000001"), 2_000);
    expect(outcome.cancelled.map((o) => [o.symbol, o.status])).to.deep.equal([
      ["SPY", "cancelled"],
      ["TLT", "cancelled"],
    ]);
    expect(outcome.remaining).to.deep.equal([]);
    expect(await broker.openOrders("DU1000001")).to.deep.equal([]);
  });

  it("says which orders are still working when the time is up", async () => {
    const broker = await withWorkingOrders();
    broker.cancelOrder = async () => undefined; // a broker that never gets to the cancel
    const outcome = await cancelAndWait(broker, () => broker.openOrders("DU1000001"), 50);
    expect(outcome.cancelled).to.deep.equal([]);
    expect(outcome.remaining.map((o) => o.symbol)).to.deep.equal(["SPY", "TLT"]);
  });

  it("counts an order the broker no longer lists as ended, though its event was missed", async () => {
    const broker = await withWorkingOrders();
    broker.onOrderEvent = () => () => undefined; // every event lost, as across a reconnect
    const outcome = await cancelAndWait(broker, () => broker.openOrders("DU1000001"), 50);
    expect(outcome.remaining).to.deep.equal([]);
    expect(await broker.openOrders("DU1000001")).to.deep.equal([]);
  });

  it("cancels nothing when the read refuses", async () => {
    const broker = await withWorkingOrders();
    const refusal = await cancelAndWait(
      broker,
      () => Promise.reject(new Error("refused: another client's order")),
      2_000,
    ).catch((err: Error) => err.message);
    expect(refusal).to.equal("refused: another client's order");
    expect(await broker.openOrders("DU1000001")).to.have.length(2);
  });
});
