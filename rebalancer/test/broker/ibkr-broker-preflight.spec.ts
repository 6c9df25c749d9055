// The IBKR adapter's what-if orders against the test TWS server: answered as IB does, never a
// working order, refusals as results, and paced within TWS's limit when many go at once.

import { expect } from "chai";
import type { OrderRequest } from "../../src/broker/broker.js";
import {
  decodingErrors,
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
  runId: "run-9",
  ...changes,
});

describe("IBKR broker: what-if orders (preflight)", () => {
  let tws: BrokerAgainstTws;

  beforeEach(async () => {
    tws = await startBrokerAgainstTws();
  });

  afterEach(async () => {
    await tws.close();
    expect(decodingErrors(tws.logs), "library decoding errors").to.deep.equal([]);
    expect(tws.server.unknownMessages, "messages the server did not understand").to.deep.equal([]);
  });

  it("sends the order as placed, with whatIf set, and reads the margin and commission figures", async () => {
    const check = await tws.broker.preflight!(buySpy({ orderType: "limit", limitPrice: 501 }));
    expect(check).to.deep.include({
      accepted: true,
      reason: "",
      initialMarginChange: 5_010,
      maintenanceMarginChange: 5_010,
      commission: 1,
      commissionCurrency: "USD",
    });
    const [sent] = tws.server.market.whatIfOrders;
    expect(sent).to.include({
      accountId: "DU111111",
      symbol: "SPY",
      action: "BUY",
      quantity: 10,
      orderType: "LMT",
      limitPrice: 501,
      tif: "DAY",
    });
    // Nothing works, nothing fills, nothing is followed.
    expect(tws.server.market.orders).to.deep.equal([]);
    expect(tws.server.market.executions).to.deep.equal([]);
    expect(tws.events).to.deep.equal([]);
    expect(await tws.broker.openOrders("DU111111")).to.deep.equal([]);
  });

  it("lists no what-if order as open while runs of several accounts check and read at once", async () => {
    // As runs do over one connection: each checks its orders, then reads its account's open
    // orders (the cancel phase) while the others' what-ifs are answered.
    const listed: string[] = [];
    const run = async (accountId: string) => {
      for (let i = 0; i < 3; i++) {
        await Promise.all(
          [1, 2, 3].map((quantity) => tws.broker.preflight!(buySpy({ accountId, quantity }))),
        );
        listed.push(
          ...(await tws.broker.openOrders(accountId)).map((o) => `${accountId} ${o.orderId}`),
        );
      }
    };
    await Promise.all([run("DU111111"), run("DU222222"), run("DU111111"), run("DU222222")]);
    expect(listed).to.deep.equal([]);
  });

  it("waits past a first answer with only a warning for the one with the figures", async () => {
    tws.server.market.whatIfTwoAnswers = true;
    tws.server.market.whatIfWarning = "The market for SPY is closed; the order would queue";
    const check = await tws.broker.preflight!(buySpy({ side: "sell", quantity: 4 }));
    expect(check.accepted).to.equal(true);
    expect(check.initialMarginChange).to.be.closeTo(-4 * 499.9, 0.01);
    expect(check.warnings).to.deep.equal(["The market for SPY is closed; the order would queue"]);
  });

  it("answers a refused contract (201) as refused, with IB's reason and code", async () => {
    tws.server.market.instruments.get("QQQ")!.rejectOrders = "No trading permissions";
    const check = await tws.broker.preflight!(buySpy({ symbol: "QQQ" }));
    expect(check).to.deep.include({
      accepted: false,
      reason: "No trading permissions",
      brokerCode: 201,
    });
    // A real order placed afterwards still works: ids move on past the what-if's.
    const placed = await tws.broker.placeOrder(buySpy());
    expect(Number(placed.orderId)).to.be.greaterThan(tws.server.market.whatIfOrders[0]!.orderId);
  });

  it("checks 120 orders at once within TWS's 50 messages a second", async () => {
    tws.server.resetStats();
    const symbols = ["SPY", "VTI", "QQQ", "BND"];
    const checks = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        tws.broker.preflight!(buySpy({ symbol: symbols[i % 4], quantity: i + 1 })),
      ),
    );
    expect(checks.every((c) => c.accepted)).to.equal(true);
    expect(tws.server.market.whatIfOrders).to.have.length(120);
    expect(tws.server.maxMessagesPerSecond()).to.be.at.most(50);
  });
});
