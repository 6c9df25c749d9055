// Price snapshots for many symbols: live data where subscribed, delayed where not (market data
// type 3, set per session). Each snapshot ends when TWS says so or after snapshotTimeoutMs,
// whichever is first; no fixed sleeps.

import { EventName, type Contract, type MarketDataTicks } from "@stoqey/ib";
import {
  first,
  fromEvent,
  lastValueFrom,
  map,
  race,
  switchMap,
  takeUntil,
  timer,
  type Observable,
} from "rxjs";
import type { Quote } from "../broker.js";
import type { IbkrConnection, IbkrLog } from "./ibkr-connection.js";
import type { IbkrContracts } from "./ibkr-contracts.js";
import { toBrokerError } from "./ibkr-errors.js";
import { mapConcurrently } from "./map-concurrently.js";
import { quoteFromTicks } from "./ibkr-translate.js";

/** How rxjs sees IBApi (an eventemitter3 emitter underneath its typed overloads). */
interface Emitter {
  addListener(event: string, listener: (...args: unknown[]) => void): void;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
}

/** The REQ_MKT_DATA message id; its tokens are [1, version, reqId, conId, ...]. */
const REQ_MKT_DATA = 1;

export class IbkrMarketData {
  constructor(
    private readonly connection: IbkrConnection,
    private readonly contracts: IbkrContracts,
    private readonly options: {
      /** Longest wait for one snapshot, from when its request is sent. */
      snapshotTimeoutMs: number;
      /** Longest wait for the request to be sent at all (on top of snapshotTimeoutMs). */
      requestTimeoutMs: number;
      /** Snapshots in flight at once. */
      concurrency: number;
    },
    private readonly log: IbkrLog,
  ) {}

  /**
   * A quote per symbol with a usable price (last, else midpoint, else close). Symbols IB does not
   * know (200) or has no data for (354) are left out and logged; a lost connection rejects.
   */
  async quotes(symbols: string[]): Promise<Map<string, Quote>> {
    this.connection.assertReady("quotes");
    const quotes = new Map<string, Quote>();
    await mapConcurrently([...new Set(symbols)], this.options.concurrency, async (symbol) => {
      const quote = await this.quote(symbol);
      if (quote) quotes.set(symbol, quote);
    });
    return quotes;
  }

  private async quote(symbol: string): Promise<Quote | undefined> {
    try {
      const ticks = await this.snapshot(symbol, await this.contracts.contract(symbol));
      const quote = ticks && quoteFromTicks(symbol, ticks);
      if (!quote) this.log.warn({ symbol }, `no usable price for ${symbol} in its snapshot`);
      return quote;
    } catch (error) {
      const brokerError = toBrokerError(error, `price of ${symbol}`);
      // IB's verdict on this one symbol leaves it out; a lost connection or a bug fails the call.
      const aboutSymbol =
        brokerError.code === "no_such_symbol" ||
        (brokerError.brokerCode !== undefined && brokerError.code !== "unavailable");
      if (!aboutSymbol) throw brokerError;
      this.log.warn({ symbol, code: brokerError.code }, brokerError.message);
      return undefined;
    }
  }

  private snapshot(symbol: string, contract: Contract): Promise<MarketDataTicks | undefined> {
    const what = `price snapshot of ${symbol}`;
    const { snapshotTimeoutMs, requestTimeoutMs } = this.options;
    // TWS ends a snapshot itself (within 11 s); past our limit, what arrived is used. The clock
    // starts when the request leaves the library's pacing queue, not when it joins it.
    const limit = race(
      this.requestSent(contract.conId).pipe(switchMap(() => timer(snapshotTimeoutMs))),
      timer(requestTimeoutMs + snapshotTimeoutMs),
    );
    return lastValueFrom(
      this.connection.next.getMarketData(contract, "", true, false).pipe(
        map((update) => update.all),
        takeUntil(limit),
        this.connection.whileSessionLasts(what),
      ),
      { defaultValue: undefined },
    );
  }

  /** Emits when the library writes a market data request for `conId` to the socket. */
  private requestSent(conId: number | undefined): Observable<unknown> {
    const api = this.connection.api as unknown as Emitter;
    return fromEvent(api, EventName.sent).pipe(
      first((args) => {
        const [tokens] = args as [unknown[]];
        return tokens[0] === REQ_MKT_DATA && tokens[3] === conId;
      }),
    );
  }
}
