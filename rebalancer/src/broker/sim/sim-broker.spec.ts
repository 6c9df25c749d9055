import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { BrokerError } from "../broker-error.js";
import type { Broker, OrderEvent, OrderRequest } from "../broker.js";
import { createExchangeHours } from "./exchange-hours.js";
import { createSimBroker, type SimBroker, type SimBrokerOptions } from "./sim-broker.js";
import type { SimState } from "./sim-state.js";

function state(): SimState {
  return {
    currency: "USD",
    prices: { AAA: 10, BBB: 20, CCC: 50 },
    accounts: [
      { accountId: "DU1", cash: 1000, holdings: [{ symbol: "AAA", quantity: 10, averageCost: 8 }] },
      { accountId: "DU2", cash: 0, holdings: [] },
    ],
  };
}

function order(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return {
    accountId: "DU1",
    symbol: "BBB",
    side: "buy",
    quantity: 5,
    orderType: "market",
    timeInForce: "DAY",
    outsideRth: false,
    runId: "run-1",
    ...overrides,
  };
}

const brokers: Broker[] = [];

function sim(options: SimBrokerOptions = {}): SimBroker {
  const broker = createSimBroker({ state: state(), fillDelayMs: 5, ...options });
  brokers.push(broker);
  return broker;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records every order event and waits for the one a test expects. */
function record(broker: Broker) {
  const events: OrderEvent[] = [];
  const waiters: Array<() => void> = [];
  broker.onOrderEvent((event) => {
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  });
  async function until(match: (e: OrderEvent) => boolean, timeoutMs = 1000): Promise<OrderEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no such event within ${timeoutMs} ms; got ${summary(events)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, left);
      });
    }
  }
  const ended = (orderId: string, timeoutMs?: number) =>
    until(
      (e) =>
        e.kind === "status" &&
        e.order.orderId === orderId &&
        ["filled", "cancelled", "rejected"].includes(e.order.status),
      timeoutMs,
    );
  /** "status:submitted", "fill:3", "status:filled", ... for one order. */
  const story = (orderId: string) =>
    events
      .filter((e) => e.order.orderId === orderId)
      .map((e) =>
        e.kind === "fill" ? `fill:${e.fill.quantity}@${e.fill.price}` : `status:${e.order.status}`,
      );
  return { events, until, ended, story };
}

function summary(events: OrderEvent[]): string {
  return JSON.stringify(events.map((e) => [e.kind, e.order.orderId, e.order.status]));
}

async function refusal(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(BrokerError);
    return err as BrokerError;
  }
  throw new Error("expected a BrokerError");
}

describe("createSimBroker", () => {
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  describe("state", () => {
    it("loads the bundled example accounts by default", async () => {
      const broker = createSimBroker();
      brokers.push(broker);
      const holdings = await broker.holdings("DU1000001");
      expect(holdings.map((h) => h.symbol)).to.include.members(["QQQ", "AAPL"]);
      expect((await broker.accountValues("DU1000002")).cash).to.equal(18000);
    });

    it("reports holdings with the state's currency", async () => {
      expect(await sim().holdings("DU1")).to.deep.equal([
        { symbol: "AAA", quantity: 10, averageCost: 8, currency: "USD" },
      ]);
    });

    it("values the account as cash plus every holding at its price, never at cost", async () => {
      const now = new Date("2025-06-24T15:00:00Z");
      const values = await sim({ now: () => now }).accountValues("DU1");
      expect(values).to.deep.equal({
        netLiquidation: 1100,
        cash: 1000,
        availableFunds: 1000,
        currency: "USD",
        asOf: now,
      });
    });

    it("refuses an account it does not have", async () => {
      const broker = sim();
      for (const call of [
        broker.holdings("DU9"),
        broker.accountValues("DU9"),
        broker.openOrders("DU9"),
        broker.placeOrder(order({ accountId: "DU9" })),
      ]) {
        const err = await refusal(call);
        expect(err.code).to.equal("unknown_account");
        expect(err.message).to.equal("account DU9 is not in the simulation (it has DU1, DU2)");
      }
    });

    it("takes its state from options and never changes the caller's copy", async () => {
      const given = state();
      const broker = sim({ state: given });
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      await events.ended(placed.orderId);
      expect(given).to.deep.equal(state());
      expect(broker.snapshot().accounts[0]!.holdings.map((h) => h.symbol)).to.deep.equal([
        "AAA",
        "BBB",
      ]);
    });

    it("refuses a state that holds a symbol without a price", () => {
      const bad = state();
      bad.accounts[1]!.holdings.push({ symbol: "ZZZ", quantity: 1, averageCost: 1 });
      expect(() => createSimBroker({ state: bad })).to.throw(
        BrokerError,
        "DU2 holds ZZZ, which has no price",
      );
    });
  });

  describe("prices and sessions", () => {
    it("quotes last prices and leaves out symbols without one", async () => {
      const quotes = await sim({ prices: { BBB: 21.5, CCC: null } }).quotes([
        "AAA",
        "BBB",
        "CCC",
        "ZZZ",
      ]);
      expect([...quotes.values()]).to.deep.equal([
        { symbol: "AAA", price: 10, source: "last" },
        { symbol: "BBB", price: 21.5, source: "last" },
      ]);
    });

    it("values a holding whose quote is withheld at its last price", async () => {
      const values = await sim({ prices: { AAA: null } }).accountValues("DU1");
      expect(values.netLiquidation).to.equal(1100);
    });

    it("is always open by default", async () => {
      const sessions = await sim().sessions(
        ["AAA", "BBB"],
        new Date("2025-06-28T03:00:00Z"),
        false,
      );
      expect([...sessions.values()]).to.deep.equal([
        { symbol: "AAA", open: true },
        { symbol: "BBB", open: true },
      ]);
    });

    it("answers sessions from the market hours it is given", async () => {
      const broker = sim({ marketHours: createExchangeHours() });
      const sessions = await broker.sessions(["AAA"], new Date("2025-06-28T15:00:00Z"), false);
      expect(sessions.get("AAA")).to.deep.equal({
        symbol: "AAA",
        open: false,
        nextOpen: new Date("2025-06-30T13:30:00Z"),
      });
    });
  });

  describe("orders and fills", () => {
    it("gives unique, increasing order ids", async () => {
      const broker = sim();
      const ids = [];
      for (let i = 0; i < 12; i++)
        ids.push(Number((await broker.placeOrder(order({ quantity: 1 }))).orderId));
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).to.equal(12);
    });

    it("accepts an order as pending, then reports it submitted and filled at the quoted price", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      expect(placed).to.deep.include({
        status: "pending_submit",
        filledQuantity: 0,
        runId: "run-1",
      });
      await events.ended(placed.orderId);
      expect(events.story(placed.orderId)).to.deep.equal([
        "status:submitted",
        "fill:5@20",
        "status:filled",
      ]);
      const last = events.events.at(-1)!.order;
      expect(last).to.deep.include({ filledQuantity: 5, averageFillPrice: 20, message: "" });
    });

    it("moves cash and shares together: a buy takes cash, a sell gives it", async () => {
      const broker = sim();
      const events = record(broker);
      await events.ended((await broker.placeOrder(order({ symbol: "BBB", quantity: 5 }))).orderId);
      await events.ended(
        (await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 4 }))).orderId,
      );
      expect(await broker.holdings("DU1")).to.deep.equal([
        { symbol: "AAA", quantity: 6, averageCost: 8, currency: "USD" },
        { symbol: "BBB", quantity: 5, averageCost: 20, currency: "USD" },
      ]);
      const values = await broker.accountValues("DU1");
      expect(values.cash).to.equal(1000 - 100 + 40);
      expect(values.netLiquidation).to.equal(1100);
    });

    it("drops a holding that is sold out", async () => {
      const broker = sim();
      const events = record(broker);
      await events.ended(
        (await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 10 }))).orderId,
      );
      expect(await broker.holdings("DU1")).to.deep.equal([]);
      expect((await broker.accountValues("DU1")).cash).to.equal(1100);
    });

    it("keeps netLiquidation = cash + quantity x price after every fill, in cents", async () => {
      const broker = sim({ fillParts: 3, prices: { AAA: 10.37, BBB: 19.99, CCC: 49.13 } });
      const events = record(broker);
      const check = async () => {
        const { cash, netLiquidation } = await broker.accountValues("DU1");
        const held = (await broker.holdings("DU1")).reduce(
          (sum, h) => sum + h.quantity * { AAA: 10.37, BBB: 19.99, CCC: 49.13 }[h.symbol]!,
          0,
        );
        expect(netLiquidation).to.be.closeTo(cash + held, 0.005);
        expect(Math.round(cash * 100) / 100).to.equal(cash);
      };
      const starting = (await broker.accountValues("DU1")).netLiquidation;
      broker.onOrderEvent(() => void check());
      for (const request of [
        order({ symbol: "BBB", quantity: 7 }),
        order({ symbol: "CCC", quantity: 3 }),
        order({ symbol: "AAA", side: "sell", quantity: 9 }),
      ]) {
        await events.ended((await broker.placeOrder(request)).orderId);
        await check();
      }
      // Trading at the quoted price neither makes nor loses money.
      expect((await broker.accountValues("DU1")).netLiquidation).to.be.closeTo(starting, 0.02);
    });

    it("fills in parts when told to, the last part taking the remainder", async () => {
      const broker = sim({ fillParts: 3 });
      const events = record(broker);
      const placed = await broker.placeOrder(order({ quantity: 10 }));
      await events.ended(placed.orderId);
      expect(events.story(placed.orderId)).to.deep.equal([
        "status:submitted",
        "fill:3@20",
        "status:partially_filled",
        "fill:3@20",
        "status:partially_filled",
        "fill:4@20",
        "status:filled",
      ]);
      const fills = events.events.filter((e) => e.kind === "fill");
      expect(fills.map((e) => e.kind === "fill" && e.fill.executionId)).to.deep.equal([
        "1.1",
        "1.2",
        "1.3",
      ]);
    });

    it("fills after the configured delay", async () => {
      const broker = sim({ fillDelayMs: 80 });
      const events = record(broker);
      const started = Date.now();
      await events.ended((await broker.placeOrder(order())).orderId);
      expect(Date.now() - started).to.be.at.least(75);
    });

    it("stamps fills with the injected clock", async () => {
      const now = new Date("2025-06-24T14:00:00Z");
      const broker = sim({ now: () => now });
      const events = record(broker);
      await broker.placeOrder(order());
      const fill = await events.until((e) => e.kind === "fill");
      expect(fill.kind === "fill" && fill.fill.time).to.deep.equal(now);
    });

    it("fills a limit order only when it is marketable, and at the quoted price", async () => {
      const broker = sim();
      const events = record(broker);
      const buy = await broker.placeOrder(
        order({ orderType: "limit", limitPrice: 19, quantity: 2 }),
      );
      await sleep(30);
      expect(events.story(buy.orderId)).to.deep.equal(["status:submitted"]);
      broker.setPrice("BBB", 18.5);
      await events.ended(buy.orderId);
      expect(events.story(buy.orderId)).to.deep.equal([
        "status:submitted",
        "fill:2@18.5",
        "status:filled",
      ]);

      const sell = await broker.placeOrder(
        order({ symbol: "AAA", side: "sell", orderType: "limit", limitPrice: 9, quantity: 1 }),
      );
      await events.ended(sell.orderId);
      expect(events.story(sell.orderId)).to.deep.equal([
        "status:submitted",
        "fill:1@10",
        "status:filled",
      ]);
    });

    it("fills a market-on-close order at the close, after the delay", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order({ orderType: "market_on_close" }));
      await events.ended(placed.orderId);
      expect(events.story(placed.orderId)).to.deep.equal([
        "status:submitted",
        "fill:5@20",
        "status:filled",
      ]);
    });
  });

  describe("rejections", () => {
    it("rejects a sell beyond holdings: insufficient shares", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 11 }));
      const ended = await events.ended(placed.orderId);
      expect(ended.order).to.deep.include({
        status: "rejected",
        message: "insufficient shares: selling 11 AAA, 10 available (10 held)",
      });
      expect((await broker.holdings("DU1"))[0]!.quantity).to.equal(10);
    });

    it("counts shares already promised to working sells", async () => {
      const broker = sim({ unfilled: ["AAA"] });
      const events = record(broker);
      await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 6 }));
      const second = await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 6 }));
      expect((await events.ended(second.orderId)).order.message).to.equal(
        "insufficient shares: selling 6 AAA, 4 available (10 held)",
      );
    });

    it("rejects a buy beyond available funds: insufficient buying power", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order({ symbol: "CCC", quantity: 21 }));
      const ended = await events.ended(placed.orderId);
      expect(ended.order).to.deep.include({
        status: "rejected",
        message: "insufficient buying power: the order needs 1050.00, 1000.00 available",
      });
      expect((await broker.accountValues("DU1")).cash).to.equal(1000);
    });

    it("sets money aside for working buys, so two orders cannot spend the same cash", async () => {
      const broker = sim({ unfilled: ["CCC"] });
      const events = record(broker);
      const first = await broker.placeOrder(order({ symbol: "CCC", quantity: 15 }));
      await events.until(
        (e) => e.order.orderId === first.orderId && e.order.status === "submitted",
      );
      expect((await broker.accountValues("DU1")).availableFunds).to.equal(250);
      const second = await broker.placeOrder(order({ symbol: "BBB", quantity: 13 }));
      expect((await events.ended(second.orderId)).order.message).to.equal(
        "insufficient buying power: the order needs 260.00, 250.00 available",
      );
    });

    it("rejects orders as configured by symbol, with the configured message", async () => {
      const broker = sim({ rejections: { BBB: "no trading permission" } });
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      expect((await events.ended(placed.orderId)).order).to.deep.include({
        status: "rejected",
        message: "no trading permission",
      });
      expect(events.story(placed.orderId)).to.deep.equal(["status:rejected"]);
    });

    it("rejects orders as configured by a predicate", async () => {
      const broker = sim({
        rejections: (r) => (r.side === "sell" ? "pattern day trader" : undefined),
      });
      const events = record(broker);
      const sell = await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 1 }));
      const buy = await broker.placeOrder(order());
      expect((await events.ended(sell.orderId)).order.message).to.equal("pattern day trader");
      expect((await events.ended(buy.orderId)).order.status).to.equal("filled");
    });

    it("rejects an order for a symbol without a price", async () => {
      const broker = sim({ prices: { BBB: null } });
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      expect((await events.ended(placed.orderId)).order.message).to.equal("no market data for BBB");
    });

    it("rejects fractional and non-positive quantities and limit orders without a price", async () => {
      const broker = sim();
      const events = record(broker);
      const messages = [];
      for (const request of [
        order({ quantity: 1.5 }),
        order({ quantity: 0 }),
        order({ orderType: "limit" }),
      ]) {
        messages.push(
          (await events.ended((await broker.placeOrder(request)).orderId)).order.message,
        );
      }
      expect(messages).to.deep.equal([
        "quantity must be a whole number of shares above 0, got 1.5",
        "quantity must be a whole number of shares above 0, got 0",
        "a limit order needs a limit price above 0",
      ]);
    });
  });

  describe("working orders", () => {
    it("keeps unfilled orders working until cancelled, then reports them cancelled", async () => {
      const broker = sim({ unfilled: (r) => r.symbol === "BBB" });
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      await sleep(30);
      const open = await broker.openOrders("DU1");
      expect(open.map((o) => [o.orderId, o.status])).to.deep.equal([[placed.orderId, "submitted"]]);
      await broker.cancelOrder(placed.orderId);
      expect((await events.ended(placed.orderId)).order).to.deep.include({
        status: "cancelled",
        message: "cancelled on request",
      });
      expect(await broker.openOrders("DU1")).to.deep.equal([]);
      expect((await broker.accountValues("DU1")).availableFunds).to.equal(1000);
    });

    it("cancels the rest of a partly filled order", async () => {
      const broker = sim({ fillParts: 5, fillDelayMs: 15 });
      const events = record(broker);
      const placed = await broker.placeOrder(order({ quantity: 10 }));
      await events.until((e) => e.kind === "fill");
      await broker.cancelOrder(placed.orderId);
      const ended = await events.ended(placed.orderId);
      expect(ended.order.status).to.equal("cancelled");
      await sleep(40);
      const held = (await broker.holdings("DU1")).find((h) => h.symbol === "BBB")!.quantity;
      expect(held).to.equal(ended.order.filledQuantity).and.be.below(10);
    });

    it("lists only the account's working orders", async () => {
      const broker = sim({ unfilled: ["BBB"] });
      const events = record(broker);
      const working = await broker.placeOrder(order());
      const done = await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 1 }));
      await events.ended(done.orderId);
      expect((await broker.openOrders("DU1")).map((o) => o.orderId)).to.deep.equal([
        working.orderId,
      ]);
      expect(await broker.openOrders("DU2")).to.deep.equal([]);
    });

    it("answers a cancel of a finished order with how it ended", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      await events.ended(placed.orderId);
      await broker.cancelOrder(placed.orderId);
      await sleep(10);
      expect(events.story(placed.orderId)).to.deep.equal([
        "status:submitted",
        "fill:5@20",
        "status:filled",
        "status:filled",
      ]);
    });

    it("refuses to cancel an order it never had", async () => {
      const err = await refusal(sim().cancelOrder("999"));
      expect(err.message).to.equal("no order 999 to cancel");
    });

    it("holds orders while the market is closed and fills them once it opens", async () => {
      let clock = new Date("2025-06-28T15:00:00Z"); // a Saturday
      const broker = sim({ marketHours: createExchangeHours(), now: () => clock });
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      await sleep(30);
      expect(events.story(placed.orderId)).to.deep.equal(["status:submitted"]);
      clock = new Date("2025-06-30T14:00:00Z"); // Monday 10:00 in New York
      const ended = await events.ended(placed.orderId);
      expect(ended.order.status).to.equal("filled");
    });

    it("fills before the open only orders that allow extended hours", async () => {
      const clock = new Date("2025-06-30T11:00:00Z"); // Monday 07:00 in New York
      const broker = sim({ marketHours: createExchangeHours(), now: () => clock });
      const events = record(broker);
      const regular = await broker.placeOrder(order());
      const extended = await broker.placeOrder(order({ outsideRth: true }));
      await events.ended(extended.orderId);
      expect(events.story(regular.orderId)).to.deep.equal(["status:submitted"]);
    });
  });

  describe("events", () => {
    it("delivers events after placeOrder returns, never during the call", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      expect(events.events).to.deep.equal([]);
      await events.ended(placed.orderId);
    });

    it("delivers every event to every listener in the same order, until it unsubscribes", async () => {
      const broker = sim({ fillParts: 2 });
      const first = record(broker);
      const seen: string[] = [];
      const unsubscribe = broker.onOrderEvent((e) => seen.push(`${e.kind}:${e.order.status}`));
      const a = await broker.placeOrder(order({ quantity: 2 }));
      const b = await broker.placeOrder(order({ symbol: "AAA", side: "sell", quantity: 2 }));
      await first.ended(a.orderId);
      await first.ended(b.orderId);
      expect(seen).to.deep.equal(first.events.map((e) => `${e.kind}:${e.order.status}`));
      unsubscribe();
      const c = await broker.placeOrder(order({ quantity: 1 }));
      await first.ended(c.orderId);
      expect(seen).to.have.length(first.events.length - 3);
    });

    it("still delivers to the others when a listener throws, and reports it as a warning", async () => {
      const broker = sim();
      const warnings: string[] = [];
      const emitWarning = process.emitWarning;
      process.emitWarning = ((warning: string | Error) => {
        warnings.push(String(warning));
      }) as typeof process.emitWarning;
      try {
        broker.onOrderEvent(() => {
          throw new Error("a faulty listener");
        });
        const events = record(broker);
        await events.ended((await broker.placeOrder(order())).orderId);
        expect(events.events).to.have.length(3);
      } finally {
        process.emitWarning = emitWarning;
      }
      expect(warnings).to.have.length(3);
      expect(warnings[0]).to.equal("an order event listener threw: a faulty listener");
    });

    it("gives each event its own copy of the order", async () => {
      const broker = sim();
      const events = record(broker);
      const placed = await broker.placeOrder(order());
      await events.ended(placed.orderId);
      const [submitted] = events.events;
      expect(submitted!.order.status).to.equal("submitted");
      expect(placed.status).to.equal("pending_submit");
    });
  });

  describe("health and lifecycle", () => {
    it("is connected, and says it is the simulation", () => {
      const health = sim().health();
      expect(health.connected).to.equal(true);
      expect(health.detail).to.equal("simulated broker: accounts DU1, DU2; market always open");
    });

    it("once closed, is disconnected, refuses calls and fills nothing more", async () => {
      const broker = sim({ fillDelayMs: 20 });
      const events = record(broker);
      await broker.placeOrder(order());
      await broker.close();
      expect(broker.health().connected).to.equal(false);
      expect((await refusal(broker.holdings("DU1"))).code).to.equal("unavailable");
      await sleep(40);
      expect(events.events.filter((e) => e.kind === "fill")).to.deep.equal([]);
    });
  });
  describe("a ledger file: restarts", () => {
    const ledgerFile = () => join(mkdtempSync(join(tmpdir(), "sim-ledger-")), "sim-ledger.sqlite");

    it("keeps books, order ids and executions across a restart", async () => {
      const file = ledgerFile();
      const first = sim({ ledgerFile: file });
      const events = record(first);
      const placed = await first.placeOrder(order({ quantity: 5 }));
      await events.ended(placed.orderId);
      await first.close();

      const second = sim({ ledgerFile: file });
      expect(await second.holdings("DU1")).to.deep.equal([
        { symbol: "AAA", quantity: 10, averageCost: 8, currency: "USD" },
        { symbol: "BBB", quantity: 5, averageCost: 20, currency: "USD" },
      ]);
      expect((await second.accountValues("DU1")).cash).to.equal(900);
      const next = await second.placeOrder(order({ quantity: 1, runId: "run-2" }));
      expect(Number(next.orderId)).to.be.greaterThan(Number(placed.orderId));
      const activity = await second.runActivity("DU1", "run-1", new Date(0));
      expect(activity.orders.map((o) => [o.orderId, o.status, o.filledQuantity])).to.deep.equal([
        [placed.orderId, "filled", 5],
      ]);
      expect(activity.fills.map((f) => [f.executionId, f.quantity, f.price])).to.deep.equal([
        [`${placed.orderId}.1`, 5, 20],
      ]);
      expect(activity.fills[0]!.time).to.be.instanceOf(Date);
    });

    it("reads the books back from the ledger, adding only the accounts it does not have", async () => {
      const file = ledgerFile();
      const first = sim({ ledgerFile: file });
      const events = record(first);
      await events.ended((await first.placeOrder(order({ quantity: 5 }))).orderId);
      await first.close();
      const grown = state();
      grown.accounts.push({ accountId: "DU3", cash: 77, holdings: [] });
      const second = sim({ ledgerFile: file, state: grown });
      expect((await second.accountValues("DU1")).cash).to.equal(900);
      expect((await second.accountValues("DU3")).cash).to.equal(77);
    });

    it("carries on a partly filled order after a restart, with its parts and schedule", async () => {
      const file = ledgerFile();
      const first = sim({ ledgerFile: file, fillDelayMs: 300, fillParts: 2 });
      const before = record(first);
      const placed = await first.placeOrder(order({ quantity: 4 }));
      const firstFill = await before.until((e) => e.kind === "fill");
      await first.close();

      // Other settings now: the order keeps the split and the schedule it was given.
      const second = sim({ ledgerFile: file, fillDelayMs: 60_000, fillParts: 1 });
      const after = record(second);
      expect(
        (await second.openOrders("DU1")).map((o) => [o.orderId, o.filledQuantity]),
      ).to.deep.equal([[placed.orderId, 2]]);
      await after.ended(placed.orderId, 2000);
      expect(after.story(placed.orderId)).to.deep.equal(["fill:2@20", "status:filled"]);
      const secondFill = after.events.find((e) => e.kind === "fill")!;
      if (firstFill.kind !== "fill" || secondFill.kind !== "fill")
        throw new Error("fills expected");
      expect(secondFill.fill.executionId).to.equal(`${placed.orderId}.2`);
      // A timer may fire a few milliseconds early against the wall clock the fills are stamped by.
      expect(secondFill.fill.time.getTime() - firstFill.fill.time.getTime()).to.be.at.least(290);
      expect(await second.openOrders("DU1")).to.deep.equal([]);
    });

    it("fills at once an order whose time passed while it was stopped", async () => {
      const file = ledgerFile();
      const first = sim({ ledgerFile: file, fillDelayMs: 100 });
      const before = record(first);
      const placed = await first.placeOrder(order());
      await before.until((e) => e.kind === "status" && e.order.status === "submitted");
      await first.close();
      await sleep(150);
      // A long delay now: the order keeps the schedule it was given, which has passed.
      const second = sim({ ledgerFile: file, fillDelayMs: 60_000 });
      const events = record(second);
      await events.ended(placed.orderId);
      expect(events.story(placed.orderId)).to.deep.equal(["fill:5@20", "status:filled"]);
    });

    it("answers a cancel of an order that ended before the restart with how it ended", async () => {
      const file = ledgerFile();
      const first = sim({ ledgerFile: file });
      const events = record(first);
      const placed = await first.placeOrder(order());
      await events.ended(placed.orderId);
      await first.close();
      const second = sim({ ledgerFile: file });
      const after = record(second);
      await second.cancelOrder(placed.orderId);
      const answer = await after.ended(placed.orderId);
      expect(answer.order).to.deep.include({ status: "filled", filledQuantity: 5 });
    });
  });
});
