// A TWS-protocol server (server version 193) over real TCP on 127.0.0.1, enough for the real
// @stoqey/ib to connect, read accounts and prices, and trade against the in-memory market.
// Reusable by any test or benchmark: startTwsServer(options) returns the port and controls.

import net from "node:net";
import { encodeFrame, TwsFrameReader, type TwsField } from "./tws-codec.js";
import { TwsMarket, type MarketEvent, type MarketOptions } from "./tws-market.js";
import {
  commissionReport,
  contractData,
  errorMessage,
  executionData,
  IN,
  openOrder,
  orderStatus,
  OUT,
  position,
  SERVER_VERSION,
  TICK,
  tickPrice,
  twsTime,
} from "./tws-messages.js";

export interface TwsServerOptions extends MarketOptions {
  /** TCP port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** Delay between START_API and NEXT_VALID_ID (the client must wait for it); default 0. */
  nextValidIdDelayMs?: number;
  /**
   * Half-open link: right after handling the Nth order placed (counted over all sessions, from
   * 1; what-if orders are checks, not placed orders, and do not count), the session that placed it goes silent: its socket stays open, but the server neither
   * reads nor writes on it again, while the market goes on (orders fill). Default: never.
   */
  freezeAfterOrders?: number;
  /**
   * Drop: right after the Nth execution of a sell (counted from 1) is sent, the socket of the
   * session that owns the order is destroyed; the market goes on. Default: never.
   */
  dropAfterSellExecutions?: number;
}

export interface TwsServer {
  readonly port: number;
  /** The accounts, instruments and orders behind the server; change them freely in tests. */
  readonly market: TwsMarket;
  /** Client ids with an open API session. */
  clientIds(): number[];
  /** The most messages one client sent within any 1000 ms (TWS allows about 50). */
  maxMessagesPerSecond(): number;
  /** Messages received from clients since start or the last resetStats(). */
  messageCount(): number;
  resetStats(): void;
  /** Sends an error message with this id to every session, as TWS would about a request. */
  broadcastError(id: number, code: number, message: string): void;
  /** Client messages the server did not understand (message id first). */
  readonly unknownMessages: string[][];
  /** How many client messages with this id (e.g. OUT.REQ_CURRENT_TIME) the server handled. */
  handled(messageId: number): number;
  /** Every open session goes silent now (socket open, nothing read or written). */
  freeze(): void;
  /** Sessions frozen so far (by freeze() or freezeAfterOrders). */
  frozenSessions(): number;
  /** Destroys every client socket; `holdClientIdsMs` keeps their ids "in use" (326) a while. */
  dropConnections(options?: { holdClientIdsMs?: number }): void;
  /** TWS lost its link to IB: 1100 to every session, and to new ones until restored. */
  loseConnectivity(): void;
  /** The link is back: 1102 (data maintained) or 1101 (data lost). */
  restoreConnectivity(dataLost?: boolean): void;
  close(): Promise<void>;
}

interface Session {
  socket: net.Socket;
  reader: TwsFrameReader;
  greeted: boolean;
  clientId?: number;
  marketDataType: number;
  positionsSubscribed: boolean;
  received: number[];
  /** Half-open: nothing is read or written any more. */
  frozen: boolean;
}

const SUMMARY_TAGS = ["NetLiquidation", "TotalCashValue", "AvailableFunds"];

export async function startTwsServer(options: TwsServerOptions = {}): Promise<TwsServer> {
  const market = new TwsMarket(options);
  const sessions = new Set<Session>();
  const heldClientIds = new Map<number, number>();
  const unknownMessages: string[][] = [];
  /** Receive times per session, kept after the session closes. */
  const received: number[][] = [];
  let connectivityLost = false;
  let ordersPlaced = 0;
  let sellExecutions = 0;
  let frozen = 0;
  const handledCounts = new Map<number, number>();

  const send = (session: Session, fields: TwsField[]) => {
    if (!session.socket.destroyed && !session.frozen) session.socket.write(encodeFrame(fields));
  };
  const freeze = (session: Session) => {
    if (session.frozen) return;
    session.frozen = true;
    frozen++;
  };
  const started = () => [...sessions].filter((s) => s.clientId !== undefined);
  const sessionOf = (clientId: number) => started().find((s) => s.clientId === clientId);

  market.onEvent((event: MarketEvent) => {
    switch (event.kind) {
      case "order": {
        const session = sessionOf(event.order.clientId);
        if (!session) return;
        const instrument = market.instruments.get(event.order.symbol)!;
        if (event.order.status !== "Cancelled") send(session, openOrder(event.order, instrument));
        send(session, orderStatus(event.order));
        return;
      }
      case "whatIf": {
        const session = sessionOf(event.order.clientId);
        const instrument = market.instruments.get(event.order.symbol)!;
        if (session) send(session, openOrder(event.order, instrument, event.state));
        return;
      }
      case "orderError": {
        const session = sessionOf(event.clientId);
        if (session) send(session, errorMessage(event.orderId, event.code, event.message));
        return;
      }
      case "execution": {
        const session = sessionOf(event.execution.order.clientId);
        if (!session) return;
        const instrument = market.instruments.get(event.execution.order.symbol)!;
        send(session, executionData(-1, event.execution, instrument));
        send(session, commissionReport(event.execution));
        if (event.execution.order.action === "SELL") {
          sellExecutions++;
          if (sellExecutions === options.dropAfterSellExecutions) session.socket.destroy();
        }
        return;
      }
      case "position": {
        const account = market.accounts.get(event.accountId)!;
        const instrument = market.instruments.get(event.symbol)!;
        for (const session of started().filter((s) => s.positionsSubscribed)) {
          send(session, position(account, instrument));
        }
        return;
      }
    }
  });

  function startApi(session: Session, clientId: number): void {
    const heldUntil = heldClientIds.get(clientId) ?? 0;
    if (sessionOf(clientId) || heldUntil > Date.now()) {
      const text =
        "Unable to connect as the client id is already in use. Retry with a unique client id.";
      send(session, errorMessage(-1, 326, text));
      session.socket.end();
      return;
    }
    session.clientId = clientId;
    send(session, [IN.MANAGED_ACCTS, 1, [...market.accounts.keys()].join(",")]);
    const welcome = () => {
      send(session, [IN.NEXT_VALID_ID, 1, market.nextOrderId(clientId)]);
      send(session, errorMessage(-1, 2104, "Market data farm connection is OK:usfarm"));
      if (connectivityLost) send(session, errorMessage(-1, 1100, CONNECTIVITY_LOST));
    };
    if (options.nextValidIdDelayMs) setTimeout(welcome, options.nextValidIdDelayMs);
    else welcome();
  }

  function requestMarketData(session: Session, f: string[]): void {
    const reqId = int(f[2]);
    const snapshot = f[17] === "1";
    const instrument = market.instrument(int(f[3]), f[4]);
    if (!instrument) {
      return send(
        session,
        errorMessage(reqId, 200, "No security definition has been found for the request"),
      );
    }
    const delayed = instrument.marketData === "delayed";
    if (instrument.marketData === "none" || (delayed && session.marketDataType < 3)) {
      const available = delayed ? "available" : "not available";
      const text = `Requested market data is not subscribed. Delayed market data is ${available}.`;
      return send(session, errorMessage(reqId, 354, text));
    }
    send(session, [IN.MARKET_DATA_TYPE, 1, reqId, delayed ? 3 : 1]);
    if (delayed) {
      const text = "Requested market data is not subscribed. Displaying delayed market data.";
      send(session, errorMessage(reqId, 10167, text));
    }
    const ticks: [number, number][] = delayed
      ? [
          [TICK.D_BID, instrument.bid],
          [TICK.D_ASK, instrument.ask],
          [TICK.D_LAST, instrument.last],
          [TICK.D_CLOSE, instrument.close],
        ]
      : [
          [TICK.BID, instrument.bid],
          [TICK.ASK, instrument.ask],
          [TICK.LAST, instrument.last],
          [TICK.CLOSE, instrument.close],
        ];
    for (const [tickType, price] of ticks)
      if (price > 0) send(session, tickPrice(reqId, tickType, price));
    if (snapshot && instrument.completesSnapshot) send(session, [IN.TICK_SNAPSHOT_END, 1, reqId]);
  }

  /** Hands a PLACE_ORDER to the market; returns whether it was a what-if order. */
  function placeOrder(session: Session, f: string[]): { whatIf: boolean } {
    const whatIf = f[84] === "1";
    market.placeOrder({
      orderId: int(f[1]),
      clientId: session.clientId!,
      conId: int(f[2]),
      symbol: f[3],
      action: f[16] === "BUY" ? "BUY" : "SELL",
      quantity: Number(f[17]),
      orderType: f[18],
      limitPrice: f[19] === "" ? undefined : Number(f[19]),
      tif: f[21],
      accountId: f[23],
      orderRef: f[26],
      transmit: f[27] === "1",
      outsideRth: f[33] === "1",
      // After the delta-neutral flag (81), algoStrategy (82, empty: no params) and algoId (83).
      whatIf,
    });
    return { whatIf };
  }

  function sendOpenOrders(session: Session, onlyOwn: boolean): void {
    for (const order of market.workingOrders()) {
      if (onlyOwn && order.clientId !== session.clientId) continue;
      const instrument = market.instruments.get(order.symbol)!;
      send(session, openOrder(order, instrument));
      send(session, orderStatus(order));
    }
    send(session, [IN.OPEN_ORDER_END, 1]);
  }

  function sendExecutions(session: Session, f: string[]): void {
    const [reqId, clientId, account, symbol, side] = [int(f[2]), f[3], f[4], f[6], f[9]];
    const since = filterTime(f[5]);
    for (const execution of market.executions) {
      const o = execution.order;
      if (since !== undefined && execution.time.getTime() < since) continue;
      if (clientId !== "" && o.clientId !== int(clientId)) continue;
      if ((account && o.accountId !== account) || (symbol && o.symbol !== symbol)) continue;
      if (side && o.action !== side) continue;
      send(session, executionData(reqId, execution, market.instruments.get(o.symbol)!));
      send(session, commissionReport(execution));
    }
    send(session, [IN.EXECUTION_DATA_END, 1, reqId]);
  }

  function sendAccountSummary(session: Session, f: string[]): void {
    const reqId = int(f[2]);
    const tags = f[4].split(",");
    for (const account of market.accounts.values()) {
      const values: Record<string, number> = {
        NetLiquidation: market.netLiquidation(account),
        TotalCashValue: account.cash,
        AvailableFunds: account.availableFunds ?? account.cash,
      };
      for (const tag of SUMMARY_TAGS.filter((t) => tags.includes(t))) {
        const fields = [reqId, account.accountId, tag, values[tag].toFixed(2), account.currency];
        send(session, [IN.ACCOUNT_SUMMARY, 1, ...fields]);
      }
    }
    send(session, [IN.ACCOUNT_SUMMARY_END, 1, reqId]);
  }

  function handle(session: Session, f: string[]): void {
    if (!session.greeted) {
      session.greeted = true;
      return send(session, [SERVER_VERSION, twsTime(new Date())]);
    }
    session.received.push(Date.now());
    const id = int(f[0]);
    if (id !== OUT.START_API && session.clientId === undefined) return;
    handledCounts.set(id, (handledCounts.get(id) ?? 0) + 1);
    switch (id) {
      case OUT.START_API:
        return startApi(session, int(f[2]));
      case OUT.REQ_IDS:
        return send(session, [IN.NEXT_VALID_ID, 1, market.nextOrderId(session.clientId!)]);
      case OUT.REQ_MANAGED_ACCTS:
        return send(session, [IN.MANAGED_ACCTS, 1, [...market.accounts.keys()].join(",")]);
      case OUT.REQ_CURRENT_TIME:
        return send(session, [IN.CURRENT_TIME, 1, Math.floor(Date.now() / 1000)]);
      case OUT.REQ_MARKET_DATA_TYPE:
        session.marketDataType = int(f[2]);
        return;
      case OUT.REQ_MKT_DATA:
        return requestMarketData(session, f);
      case OUT.REQ_CONTRACT_DATA: {
        const reqId = int(f[2]);
        const instrument = market.instrument(int(f[3]), f[4]);
        if (!instrument) {
          return send(
            session,
            errorMessage(reqId, 200, "No security definition has been found for the request"),
          );
        }
        send(session, contractData(reqId, instrument));
        return send(session, [IN.CONTRACT_DATA_END, 1, reqId]);
      }
      case OUT.REQ_POSITIONS:
        session.positionsSubscribed = true;
        for (const account of market.accounts.values()) {
          for (const symbol of account.positions.keys()) {
            send(session, position(account, market.instruments.get(symbol)!));
          }
        }
        return send(session, [IN.POSITION_END, 1]);
      case OUT.CANCEL_POSITIONS:
        session.positionsSubscribed = false;
        return;
      case OUT.REQ_ACCOUNT_SUMMARY:
        return sendAccountSummary(session, f);
      case OUT.PLACE_ORDER:
        if (placeOrder(session, f).whatIf) return;
        if (++ordersPlaced === options.freezeAfterOrders) freeze(session);
        return;
      case OUT.CANCEL_ORDER:
        return market.cancelOrder(session.clientId!, int(f[1]));
      case OUT.REQ_GLOBAL_CANCEL:
        return market.cancelAll();
      case OUT.REQ_OPEN_ORDERS:
        return sendOpenOrders(session, true);
      case OUT.REQ_ALL_OPEN_ORDERS:
        return sendOpenOrders(session, false);
      case OUT.REQ_EXECUTIONS:
        return sendExecutions(session, f);
      case OUT.CANCEL_MKT_DATA:
      case OUT.CANCEL_ACCOUNT_SUMMARY:
      case OUT.REQ_AUTO_OPEN_ORDERS:
        return;
      default:
        unknownMessages.push(f);
    }
  }

  const server = net.createServer((socket) => {
    const session: Session = {
      socket,
      reader: new TwsFrameReader(),
      greeted: false,
      marketDataType: 1,
      positionsSubscribed: false,
      received: [],
      frozen: false,
    };
    sessions.add(session);
    received.push(session.received);
    socket.on("data", (chunk) => {
      try {
        for (const message of session.reader.push(chunk)) {
          if (!session.frozen) handle(session, message);
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    market,
    unknownMessages,
    clientIds: () => started().map((s) => s.clientId!),
    maxMessagesPerSecond: () => Math.max(0, ...received.map(busiestSecond)),
    messageCount: () => received.reduce((n, times) => n + times.length, 0),
    resetStats: () => received.forEach((times) => times.splice(0)),
    broadcastError(id, code, message) {
      for (const session of started()) send(session, errorMessage(id, code, message));
    },
    freeze() {
      for (const session of sessions) freeze(session);
    },
    frozenSessions: () => frozen,
    handled: (messageId) => handledCounts.get(messageId) ?? 0,
    dropConnections({ holdClientIdsMs = 0 } = {}) {
      for (const session of sessions) {
        if (session.clientId !== undefined && holdClientIdsMs > 0) {
          heldClientIds.set(session.clientId, Date.now() + holdClientIdsMs);
        }
        session.socket.destroy();
      }
    },
    loseConnectivity() {
      connectivityLost = true;
      for (const session of started()) send(session, errorMessage(-1, 1100, CONNECTIVITY_LOST));
    },
    restoreConnectivity(dataLost = false) {
      connectivityLost = false;
      const text = `Connectivity between IB and Trader Workstation has been restored - data ${dataLost ? "lost" : "maintained"}.`;
      for (const session of started())
        send(session, errorMessage(-1, dataLost ? 1101 : 1102, text));
    },
    async close() {
      market.stop();
      for (const session of sessions) session.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const CONNECTIVITY_LOST = "Connectivity between IB and Trader Workstation has been lost.";

/** An execution filter's time, "yyyymmdd-hh:mm:ss" (UTC) or "yyyymmdd hh:mm:ss", in ms. */
function filterTime(field: string | undefined): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})[- ](\d{2}):(\d{2}):(\d{2})/.exec(field ?? "");
  if (!match) return undefined;
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

function int(field: string | undefined): number {
  return field ? parseInt(field, 10) : 0;
}

/** The most timestamps within any 1000 ms window (two pointers over a sorted list). */
function busiestSecond(times: number[]): number {
  let best = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while (times[end] - times[start] >= 1000) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
