// The IBKR adapter reading accounts, prices and hours from the test TWS server, over TCP, with
// the real @stoqey/ib.

import { expect } from "chai";
import { BrokerError } from "../../src/broker/broker-error.js";
import {
  decodingErrors,
  startBrokerAgainstTws,
  type BrokerAgainstTws,
} from "../tws/ibkr-against-tws.js";
import { defaultInstruments } from "../tws/tws-market.js";

describe("IBKR broker: reads", () => {
  let tws: BrokerAgainstTws;

  beforeEach(async () => {
    tws = await startBrokerAgainstTws({
      server: {
        instruments: [
          ...defaultInstruments(),
          { symbol: "SLOW", close: 10, completesSnapshot: false },
          { symbol: "MUTE", completesSnapshot: false },
          {
            symbol: "HRS",
            close: 20,
            timeZoneId: "US/Eastern",
            liquidHours: "20250624:0930-20250624:1600;20250625:CLOSED;20250626:0930-20250626:1600",
            tradingHours: "20250624:0400-20250624:2000;20250625:CLOSED;20250626:0400-20250626:2000",
          },
        ],
      },
    });
  });

  afterEach(async () => {
    await tws.close();
    expect(decodingErrors(tws.logs), "library decoding errors").to.deep.equal([]);
    expect(tws.server.unknownMessages, "messages the server did not understand").to.deep.equal([]);
  });

  it("reports only the asked account's positions", async () => {
    expect(await tws.broker.holdings("DU111111")).to.deep.equal([
      { symbol: "SPY", quantity: 10, averageCost: 400, currency: "USD" },
      { symbol: "VTI", quantity: 5, averageCost: 200, currency: "USD" },
    ]);
    expect(await tws.broker.holdings("DU222222")).to.deep.equal([
      { symbol: "SPY", quantity: 3, averageCost: 450, currency: "USD" },
      { symbol: "BND", quantity: 20, averageCost: 70, currency: "USD" },
    ]);
  });

  it("reads NetLiquidation, TotalCashValue and AvailableFunds of the asked account", async () => {
    const values = await tws.broker.accountValues("DU111111");
    expect(values).to.deep.include({
      netLiquidation: 26_250,
      cash: 20_000,
      availableFunds: 20_000,
      currency: "USD",
    });
    expect(Date.now() - values.asOf.getTime()).to.be.below(5_000);
  });

  it("refuses an account the login does not manage, naming the ones it does", async () => {
    const error = await tws.broker.holdings("DU999999").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(BrokerError).and.include({ code: "unknown_account" });
    expect((error as Error).message).to.contain("DU111111, DU222222");
  });

  it("refuses a managed account left out of accountIds", async () => {
    const limited = tws.connectAnother({ clientId: 8, accountIds: ["DU111111"] });
    await limited.ready();
    const error = await limited.accountValues("DU222222").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(BrokerError).and.include({ code: "unknown_account" });
  });

  it("prices each symbol from its last price, else the midpoint, else the close, live or delayed", async () => {
    const quotes = await tws.broker.quotes(["SPY", "VTI", "QQQ", "BND"]);
    expect([...quotes.values()]).to.deep.equal([
      { symbol: "SPY", price: 500, source: "last" }, // delayed
      { symbol: "VTI", price: 250, source: "last" }, // live
      { symbol: "QQQ", price: 440, source: "midpoint" },
      { symbol: "BND", price: 72.5, source: "close" },
    ]);
  });

  it("leaves out a symbol without market data (354) and an unknown one (200)", async () => {
    const quotes = await tws.broker.quotes(["SPY", "VXUS", "NOSUCH"]);
    expect([...quotes.keys()]).to.deep.equal(["SPY"]);
    const warnings = tws.logs.filter((r) => r.level === 40).map((r) => r.msg);
    expect(warnings.some((m) => m.includes("VXUS") && m.includes("IB 354"))).to.equal(true);
    expect(warnings.some((m) => m.includes("NOSUCH") && m.includes("IB 200"))).to.equal(true);
  });

  it("uses what arrived when a snapshot does not end within the per-symbol timeout", async () => {
    const started = Date.now();
    const quotes = await tws.broker.quotes(["SLOW", "MUTE", "SPY"]);
    expect(quotes.get("SLOW")).to.deep.equal({ symbol: "SLOW", price: 10, source: "close" });
    expect(quotes.has("MUTE")).to.equal(false);
    expect(quotes.get("SPY")?.price).to.equal(500);
    // Snapshots run side by side: the whole call takes one timeout (500 ms here), not two.
    expect(Date.now() - started).to.be.within(450, 1_500);
  });

  it("tells regular from extended hours in the exchange's time zone", async () => {
    const midday = new Date("2025-06-24T14:00:00Z"); // 10:00 in New York
    const evening = new Date("2025-06-24T22:00:00Z"); // 18:00 in New York
    expect((await tws.broker.sessions(["HRS"], midday, false)).get("HRS")).to.deep.equal({
      symbol: "HRS",
      open: true,
    });
    expect((await tws.broker.sessions(["HRS"], evening, true)).get("HRS")).to.deep.equal({
      symbol: "HRS",
      open: true,
    });
    expect((await tws.broker.sessions(["HRS"], evening, false)).get("HRS")).to.deep.equal({
      symbol: "HRS",
      open: false,
      nextOpen: new Date("2025-06-26T13:30:00Z"), // 25th closed; 09:30 EDT on the 26th
    });
  });

  it("rejects sessions for an unknown symbol with no_such_symbol", async () => {
    const error = await tws.broker
      .sessions(["SPY", "NOSUCH"], new Date(), false)
      .catch((e: unknown) => e);
    expect(error)
      .to.be.instanceOf(BrokerError)
      .and.include({ code: "no_such_symbol", brokerCode: 200 });
  });
});
