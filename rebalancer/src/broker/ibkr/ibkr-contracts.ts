// Symbols to IB contracts (US stocks and ETFs, SMART-routed, USD), cached, and their trading
// sessions from the contract details' hours.

import { SecType, type Contract, type ContractDetails } from "@stoqey/ib";
import { defer } from "rxjs";
import { BrokerError } from "../broker-error.js";
import type { MarketSession } from "../broker.js";
import type { IbkrConnection, IbkrLog } from "./ibkr-connection.js";
import { mapConcurrently } from "./map-concurrently.js";
import { parseTradingHours, sessionAt } from "./trading-hours.js";

// conIds never change; hours strings cover several days ahead, so an hour-old copy is current.
const DETAILS_TTL_MS = 60 * 60 * 1000;

export class IbkrContracts {
  private readonly cache = new Map<
    string,
    { fetchedAt: number; details: Promise<ContractDetails> }
  >();

  constructor(
    private readonly connection: IbkrConnection,
    /** Symbols looked up at once. */
    private readonly concurrency: number,
    private readonly log: IbkrLog,
  ) {}

  /** Contract details of a symbol; rejects with no_such_symbol when IB knows none. */
  details(symbol: string): Promise<ContractDetails> {
    const cached = this.cache.get(symbol);
    if (cached && Date.now() - cached.fetchedAt < DETAILS_TTL_MS) return cached.details;
    const entry = { fetchedAt: Date.now(), details: this.fetch(symbol) };
    this.cache.set(symbol, entry);
    entry.details.catch(() => this.cache.get(symbol) === entry && this.cache.delete(symbol));
    return entry.details;
  }

  /** The contract to quote and trade a symbol with: its conId, SMART-routed. */
  async contract(symbol: string): Promise<Contract> {
    const { contract } = await this.details(symbol);
    return {
      conId: contract.conId,
      symbol: contract.symbol,
      secType: SecType.STK,
      exchange: "SMART",
      primaryExch: contract.primaryExch,
      currency: contract.currency,
    };
  }

  /** Open or closed at `at`, from liquid (regular) hours, or trading hours when `extended`. */
  async sessions(
    symbols: string[],
    at: Date,
    extended: boolean,
  ): Promise<Map<string, MarketSession>> {
    this.connection.assertReady("market sessions");
    const sessions = new Map<string, MarketSession>();
    await mapConcurrently([...new Set(symbols)], this.concurrency, async (symbol) => {
      const details = await this.details(symbol);
      const hours =
        (extended ? details.tradingHours : details.liquidHours) || details.tradingHours || "";
      const zone = details.timeZoneId ?? "";
      try {
        sessions.set(symbol, { symbol, ...sessionAt(parseTradingHours(hours, zone), at) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new BrokerError(
          "internal",
          `trading hours of ${symbol} ("${hours}" in "${zone}"): ${message}`,
        );
      }
    });
    return sessions;
  }

  private async fetch(symbol: string): Promise<ContractDetails> {
    const what = `contract details of ${symbol}`;
    const query: Contract = { symbol, secType: SecType.STK, exchange: "SMART", currency: "USD" };
    const found = await this.connection.request(
      what,
      defer(() => this.connection.next.getContractDetails(query)),
    );
    if (found.length === 0) {
      throw new BrokerError(
        "no_such_symbol",
        `${what}: IB knows no US stock or ETF ${symbol}`,
        false,
      );
    }
    if (found.length > 1) {
      const exchanges = found.map((d) => d.contract.primaryExch).join(", ");
      this.log.warn(
        { symbol },
        `${symbol} is ambiguous (${exchanges}); using ${found[0].contract.primaryExch}`,
      );
    }
    return found[0];
  }
}
