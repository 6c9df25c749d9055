// The what-if preflight with the IBKR adapter against the TWS-protocol test server: the real
// @stoqey/ib sends what-if orders, the server answers them as IB does, and the run decides.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  FailureReason,
  OrderSide,
  Phase,
  RebalancerService,
  RunStatus,
  type Plan,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createIbkrBroker, type IbkrBroker } from "../src/broker/ibkr/ibkr-broker.js";
import { decodingErrors, testBrokerOptions, type LogRecord } from "./tws/ibkr-against-tws.js";
import type { AccountSpec, InstrumentSpec } from "./tws/tws-market.js";
import { startTwsServer, type TwsServer } from "./tws/tws-server.js";

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
  { symbol: "MSFT", last: 490, bid: 489.9, ask: 490.1, close: 488, primaryExchange: "NASDAQ" },
  { symbol: "BND", last: 72.5, close: 72.5, primaryExchange: "NASDAQ" },
].map((i) => ({ ...i, tradingHours: alwaysOpen(), liquidHours: alwaysOpen() }));

/** The account: 30 SPY and some cash; the strategy moves it into MSFT and BND. */
const account = (overrides: Partial<AccountSpec> = {}): AccountSpec => ({
  accountId: "DU111111",
  cash: 1_000,
  positions: { SPY: { quantity: 30, averageCost: 400 } },
  ...overrides,
});

describe("the what-if preflight through IB Gateway's protocol", () => {
  let tws: TwsServer;
  let broker: IbkrBroker;
  let app: RunningRebalancer;
  let client: Client<typeof RebalancerService>;
  const logs: LogRecord[] = [];

  async function start(spec: AccountSpec, accountLine = "") {
    tws = await startTwsServer({ accounts: [spec], instruments, fillParts: 1, fillIntervalMs: 5 });
    const dir = mkdtempSync(join(tmpdir(), "preflight-tws-"));
    writeFileSync(
      join(dir, "blend.yaml"),
      "allocations:\n  - { symbol: MSFT, allocation: 0.6 }\n  - { symbol: BND, allocation: 0.4 }\n",
    );
    writeFileSync(
      join(dir, "accounts.yaml"),
      "defaults: { allocation_url: 'file:{strategy}.yaml', min_order_value: 50 }\n" +
        `accounts:\n  - { account_id: DU111111, type: paper, strategy: blend${accountLine} }\n`,
    );
    broker = createIbkrBroker(testBrokerOptions(tws.port, logs));
    await broker.ready();
    app = await startRebalancer({
      accountsFile: join(dir, "accounts.yaml"),
      dataDir: dir,
      broker,
      fillTimeoutMs: 10_000,
    });
    client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  }

  afterEach(async () => {
    await app.close(1_000); // closes the broker too
    await tws.close();
    expect(decodingErrors(logs)).to.deep.equal([]);
    logs.length = 0;
  });

  async function run(mode: ExecutionMode): Promise<RebalanceResponse[]> {
    const events: RebalanceResponse[] = [];
    const idempotencyKey = `preflight-${Date.now()}-${Math.random()}`;
    for await (const event of client.rebalance({ accountId: "DU111111", mode, idempotencyKey })) {
      events.push(event);
    }
    return events;
  }
  const planOf = (events: RebalanceResponse[]): Plan => {
    const ready = events.find((e) => e.event.case === "plan")!.event;
    if (ready.case !== "plan") throw new Error("no plan event");
    return ready.value.plan!;
  };

  it("stops a live run before any sell when the broker refuses a buy (201), naming the symbol", async () => {
    await start(account());
    tws.market.instruments.get("MSFT")!.rejectOrders = "No trading permissions for MSFT";
    const events = await run(ExecutionMode.LIVE);

    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.PREFLIGHT_REFUSED);
    expect(final.value.message).to.contain("buy of").and.contain("MSFT");
    expect(final.value.message).to.contain("No trading permissions for MSFT (IB 201)");
    expect(final.value.orders).to.deep.equal([]);
    // Nothing reached the market: no sell, no cancel phase, SPY still held, every order checked.
    expect(tws.market.orders).to.deep.equal([]);
    expect(tws.market.executions).to.deep.equal([]);
    expect(tws.market.accounts.get("DU111111")!.positions.get("SPY")!.quantity).to.equal(30);
    const phases = events.flatMap((e) => (e.event.case === "phase" ? [e.event.value.phase] : []));
    expect(phases).to.include(Phase.PREFLIGHT).and.not.include(Phase.CANCELLING_OPEN_ORDERS);
    const plan = planOf(events);
    expect(tws.market.whatIfOrders.map((o) => `${o.action} ${o.symbol}`)).to.have.members(
      plan.orders.map((o) => `${o.side === OrderSide.BUY ? "BUY" : "SELL"} ${o.symbol}`),
    );
    const msft = plan.preflight!.results.find((r) => r.symbol === "MSFT")!;
    expect(msft).to.include({ accepted: false, brokerCode: 201 });
    // The run's record says the same as the stream.
    const { run: recorded } = await client.getRun({ runId: events[0]!.runId });
    expect(recorded!.failureReason).to.equal(FailureReason.PREFLIGHT_REFUSED);
    expect(recorded!.plan!.preflight!.results.map((r) => r.accepted)).to.include(false);
  });

  it("shows the preflight in a dry run: margins and commissions, no working order, no fill", async () => {
    await start(account());
    const events = await run(ExecutionMode.DRY_RUN);
    expect(events.at(-1)!.event.case).to.equal("completed");
    const preflight = planOf(events).preflight!;
    expect(preflight.checked).to.equal(true);
    expect(preflight.availableFunds).to.equal(1_000);
    const bySymbol = new Map(preflight.results.map((r) => [r.symbol, r]));
    expect([...bySymbol.keys()]).to.have.members(["SPY", "MSFT", "BND"]);
    for (const r of preflight.results) {
      expect(r.accepted, r.symbol).to.equal(true);
      expect(r.commission, r.symbol).to.be.greaterThan(0);
      expect(r.commissionCurrency).to.equal("USD");
    }
    expect(bySymbol.get("SPY")!.initialMarginChange).to.be.lessThan(0);
    expect(bySymbol.get("MSFT")!.initialMarginChange).to.be.greaterThan(0);
    // Answered as what-ifs only: nothing working, nothing filled, nothing for the adapter to follow.
    expect(tws.market.whatIfOrders).to.have.length(3);
    expect(tws.market.orders).to.deep.equal([]);
    expect(tws.market.executions).to.deep.equal([]);
    expect(await broker.openOrders("DU111111")).to.deep.equal([]);
  });

  it("places the orders after an accepted preflight, with order ids that follow the what-ifs", async () => {
    await start(account());
    const events = await run(ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    const whatIfIds = tws.market.whatIfOrders.map((o) => o.orderId);
    const orderIds = tws.market.orders.map((o) => o.orderId);
    expect(Math.min(...orderIds)).to.be.greaterThan(Math.max(...whatIfIds));
    expect(tws.market.orders.every((o) => o.status === "Filled")).to.equal(true);
  });

  it("scales the buys before placing when their what-if margins exceed the available funds", async () => {
    // TotalCashValue 1,000 but AvailableFunds 200 (e.g. sales not yet settled): the planner's
    // cash would allow more buys than the broker's funds do.
    await start(account({ availableFunds: 200 }));
    const events = await run(ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    const plan = planOf(events);
    const preflight = plan.preflight!;
    expect(preflight.buysScaled).to.equal(true);
    expect(preflight.buysRequired).to.be.greaterThan(preflight.fundsForBuys);
    expect(plan.warnings.join("\n")).to.contain("preflight: buys cost");
    const buys = tws.market.orders.filter((o) => o.action === "BUY");
    expect(buys.length).to.be.greaterThan(0);
    const spent = buys.reduce((sum, o) => sum + o.filled * o.avgFillPrice, 0);
    expect(spent).to.be.at.most(preflight.fundsForBuys);
    // The checked buys were what was placed, never more.
    const checked = new Map(
      preflight.results.filter((r) => r.side === OrderSide.BUY).map((r) => [r.symbol, r.quantity]),
    );
    for (const o of buys) expect(o.quantity).to.be.at.most(checked.get(o.symbol)!);
    const planned = new Map(plan.orders.map((o) => [o.symbol, o.quantity]));
    for (const o of buys) expect(o.quantity).to.equal(planned.get(o.symbol));
  });

  it("with preflight: off, sends no what-if order and says the check was skipped", async () => {
    await start(account(), ", preflight: off");
    const events = await run(ExecutionMode.DRY_RUN);
    expect(events.at(-1)!.event.case).to.equal("completed");
    const preflight = planOf(events).preflight!;
    expect(preflight).to.include({ checked: false });
    expect(preflight.skippedReason).to.contain("preflight: off");
    expect(tws.market.whatIfOrders).to.deep.equal([]);
    const status = events.at(-1)!.event;
    if (status.case === "completed") expect(status.value.status).to.equal(RunStatus.COMPLETED);
  });
});
