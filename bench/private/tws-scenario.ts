// The benchmark scenario (private/scenario.ts) on the TWS test server: its accounts and
// instruments, markets open around the clock.
import type { AccountSpec, InstrumentSpec } from "../../rebalancer/test/tws/tws-market.js";
import { scenarioBook, scenarioPrices, type ScenarioAccount } from "./scenario.js";

/** The scenario's accounts as the TWS test server holds them: its cash and holdings each. */
export function twsAccounts(accounts: ScenarioAccount[]): AccountSpec[] {
  return accounts.map((a) => ({
    accountId: a.accountId,
    cash: scenarioBook.cash,
    positions: Object.fromEntries(
      Object.entries(scenarioBook.holdings).map(([symbol, quantity]) => [
        symbol,
        { quantity, averageCost: scenarioPrices[symbol]! },
      ]),
    ),
  }));
}

/**
 * Every symbol with live data at one price (bid = ask = last, so buys sized on the last price
 * always fit the cash) and open around the clock from two days ago to two days ahead, so the
 * runs are never postponed for closed markets.
 */
export function twsInstruments(now: Date): InstrumentSpec[] {
  const day = (offset: number) =>
    new Date(now.getTime() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
  const hours = [-2, -1, 0, 1, 2].map((d) => `${day(d)}:0000-${day(d + 1)}:0000`).join(";");
  return Object.entries(scenarioPrices).map(([symbol, price]) => ({
    symbol,
    last: price,
    bid: price,
    ask: price,
    close: price,
    marketData: "live" as const,
    tradingHours: hours,
    liquidHours: hours,
  }));
}
