import { BrokerError } from "../broker-error.js";
import type {
  AccountValues,
  Broker,
  BrokerFill,
  BrokerOrder,
  Holding,
  MarketSession,
  OrderEvent,
  OrderRequest,
  OrderState,
  PreflightCheck,
  Quote,
  RunActivity,
} from "../broker.js";
import { pendingOrder } from "../pending-order.js";
import { loadSimState } from "./load-sim-state.js";
import { alwaysOpen, type MarketHours } from "./market-hours.js";
import { SimLedger } from "./sim-ledger.js";
import type { SimOrder } from "./sim-order.js";
import type { SimState } from "./sim-state.js";
import { openSimStore } from "./sim-store.js";

/** Options of createSimBroker. */
export interface SimBrokerOptions {
  /** YAML or JSON state file; default the bundled `rebalancer/sim/accounts.yaml`. Unused with `state`. */
  file?: string;
  /** The starting state itself (for tests); copied, never changed. Default: read from `file`. */
  state?: SimState;
  /**
   * SQLite file of the ledger: the books, every order with its progress, every execution. With
   * it the broker carries on after a restart, even after a crash: the books are read back (the
   * starting state only adds accounts the ledger does not have), order ids continue, and working
   * orders fill on the schedule they had, at once when it has passed. Default none: in memory.
   */
  ledgerFile?: string;
  /** Time from acceptance to an order's first fill, and between its parts, in ms; default 50. */
  fillDelayMs?: number;
  /** Fills per order: the quantity is split into this many parts (fewer for fewer shares); default 1. */
  fillParts?: number;
  /**
   * Orders to reject, with the broker's message: by symbol (`{QQQ: "no trading permission"}`) or
   * a function of the request returning the message, or undefined to accept. Rejected when
   * placed; what-if checks accept them (the broker changed its mind between the two). Default none.
   */
  rejections?: Record<string, string> | ((request: OrderRequest) => string | undefined);
  /** Orders that are accepted but never fill (to test timeouts): symbols or a predicate. Default none. */
  unfilled?: string[] | ((request: OrderRequest) => boolean);
  /** Price changes over the state: a number sets a price, null withholds it (no market data). Default none. */
  prices?: Record<string, number | null>;
  /** When symbols trade; orders wait for their session. Default always open (`alwaysOpen`). */
  marketHours?: MarketHours;
  /** The clock for sessions, fill times and account values; default the system clock. */
  now?: () => Date;
}

/** The simulated broker, with a few controls for tests and demos beyond the Broker port. */
export interface SimBroker extends Broker {
  /** Changes a price (null withholds it); working limit orders fill once it makes them marketable. */
  setPrice(symbol: string, price: number | null): void;
  /** The books as they stand, in the form of a starting state. */
  snapshot(): SimState;
}

/**
 * How the simulated broker refuses a buy in a retirement account, worded as IB's rejections of
 * such orders are ("not permitted ... retirement accounts"); the run recognises the wording.
 */
export function retirementRefusal(symbol: string): string {
  return `${symbol}: this product is not permitted in retirement (IRA) accounts`;
}

/** IB's fixed-rate stock commission: 0.005 per share, at least 1, at most 1% of the value. */
function commissionFor(quantity: number, price: number): number {
  return Math.round(Math.min(Math.max(1, quantity * 0.005), quantity * price * 0.01) * 100) / 100;
}

/** An order still working, and the timer of its next step. */
interface WorkingOrder extends SimOrder {
  timer?: NodeJS.Timeout;
}

const terminal: ReadonlySet<OrderState> = new Set(["filled", "cancelled", "rejected"]);

/**
 * A simulated broker: accounts, holdings, cash and prices from a state file; orders fill at the
 * quoted price after a delay, optionally in parts, on the broker's own clock; a sell beyond
 * holdings or a buy beyond available funds is rejected as a real broker would. Its ledger is kept
 * in a SQLite file when given one, written before anything is acknowledged or reported. Order
 * events reach every listener asynchronously and in order: a status change to submitted (or
 * rejected), then per fill a `fill` event followed by a `status` event (partially_filled or filled).
 */
export function createSimBroker(options: SimBrokerOptions = {}): SimBroker {
  const state = options.state ?? loadSimState(options.file);
  const store = openSimStore(options.ledgerFile ?? ":memory:");
  // The saved books win over the starting state: they are what the broker did since.
  const saved = new Map(store.accounts().map((a) => [a.accountId, a]));
  const accounts = [
    ...state.accounts.map((a) => saved.get(a.accountId) ?? a),
    ...[...saved.values()].filter((a) => !state.accounts.some((s) => s.accountId === a.accountId)),
  ];
  let ledger: SimLedger;
  try {
    ledger = new SimLedger({ ...state, accounts });
  } catch (err) {
    store.close();
    throw err;
  }
  for (const account of accounts) {
    if (!saved.has(account.accountId)) store.saveAccount(ledger.books(account.accountId));
  }
  const iraAccounts = new Set(accounts.filter((a) => a.type === "ira").map((a) => a.accountId));
  const iraRestricted = new Set(state.iraRestrictedSymbols ?? []);
  const unsettled = new Map(accounts.map((a) => [a.accountId, a.unsettledCash ?? 0]));
  for (const [symbol, price] of Object.entries(options.prices ?? {})) {
    ledger.setPrice(symbol, price);
  }
  const fillDelayMs = options.fillDelayMs ?? 50;
  const fillParts = Math.max(1, Math.floor(options.fillParts ?? 1));
  const marketHours = options.marketHours ?? alwaysOpen;
  const now = options.now ?? (() => new Date());
  const rejections = options.rejections ?? {};
  const unfilled = options.unfilled ?? [];
  const rejectionOf =
    typeof rejections === "function"
      ? rejections
      : (r: OrderRequest) =>
          Object.hasOwn(rejections, r.symbol) ? rejections[r.symbol] : undefined;
  const neverFills =
    typeof unfilled === "function" ? unfilled : (r: OrderRequest) => unfilled.includes(r.symbol);

  /** Orders still working, by id; the store has every order. */
  const orders = new Map<string, WorkingOrder>();
  const listeners = new Set<(event: OrderEvent) => void>();
  const timers = new Set<NodeJS.Timeout>();
  let nextOrderId = store.lastOrderId() + 1;
  let closed = false;

  // Events wait in one queue and are delivered on a later turn, in the order they happened.
  const queue: OrderEvent[] = [];
  let draining = false;
  function emit(event: OrderEvent): void {
    queue.push(event);
    if (draining) return;
    draining = true;
    setImmediate(() => {
      draining = false;
      for (const next of queue.splice(0)) {
        for (const listener of [...listeners]) {
          try {
            listener(next);
          } catch (err) {
            // One failing listener must not keep the event from the others, nor go unnoticed.
            process.emitWarning(`an order event listener threw: ${(err as Error).message}`, {
              type: "SimBrokerWarning",
            });
          }
        }
      }
    });
  }
  const statusEvent = (w: WorkingOrder): OrderEvent => ({ kind: "status", order: { ...w.order } });

  function later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
    return timer;
  }

  /** Sets when the order's next step is due, `ms` from now on the broker's clock (saved with it). */
  function due(w: WorkingOrder, ms: number | undefined): void {
    w.dueAt = ms === undefined ? undefined : now().getTime() + ms;
  }

  /** Starts the timer of the order's next step, if it has one. */
  function arm(w: WorkingOrder): void {
    if (w.dueAt === undefined) return;
    const step = w.order.status === "pending_submit" ? submit : tryFill;
    w.timer = later(() => step(w), Math.max(0, w.dueAt - now().getTime()));
  }

  /** The order ends: saved, no longer working, then reported. */
  function finish(w: WorkingOrder, status: OrderState, message: string): void {
    w.order.status = status;
    w.order.message = message;
    due(w, undefined);
    if (w.timer) {
      clearTimeout(w.timer);
      timers.delete(w.timer);
    }
    store.saveOrder(w);
    orders.delete(w.order.orderId);
    emit(statusEvent(w));
  }

  /** Money set aside for working buys (at the limit, or the current price), except `except`. */
  function reserved(accountId: string, except?: WorkingOrder): number {
    let total = 0;
    for (const w of orders.values()) {
      if (w === except || w.order.accountId !== accountId || w.order.side !== "buy") continue;
      if (w.order.status === "pending_submit") continue;
      const price =
        w.order.orderType === "limit" ? w.order.limitPrice : (ledger.price(w.order.symbol) ?? 0);
      total += (w.order.quantity - w.order.filledQuantity) * price;
    }
    return total;
  }

  /** Shares already promised to working sells of the account. */
  function promised(accountId: string, symbol: string): number {
    let total = 0;
    for (const w of orders.values()) {
      const o = w.order;
      if (o.accountId !== accountId || o.symbol !== symbol || o.side !== "sell") continue;
      if (o.status === "pending_submit") continue;
      total += o.quantity - o.filledQuantity;
    }
    return total;
  }

  const availableFunds = (accountId: string, except?: WorkingOrder) =>
    Math.round(
      (ledger.cash(accountId) - (unsettled.get(accountId) ?? 0) - reserved(accountId, except)) *
        100,
    ) / 100;

  /**
   * Why the broker refuses the order, or undefined when it takes it. `whatIf` leaves out the
   * funds check: a what-if answers with the margin the order needs, whatever is available.
   */
  function refusal(w: { request: OrderRequest }, whatIf = false): string | undefined {
    const { request } = w;
    if (!Number.isInteger(request.quantity) || request.quantity <= 0) {
      return `quantity must be a whole number of shares above 0, got ${request.quantity}`;
    }
    if (
      request.orderType === "limit" &&
      !(request.limitPrice !== undefined && request.limitPrice > 0)
    ) {
      return "a limit order needs a limit price above 0";
    }
    // Configured rejections come at placement: the what-if check passed, the order did not.
    const configured = whatIf ? undefined : rejectionOf(request);
    if (configured !== undefined) return configured;
    if (
      request.side === "buy" &&
      iraAccounts.has(request.accountId) &&
      iraRestricted.has(request.symbol)
    ) {
      return retirementRefusal(request.symbol);
    }
    const price = ledger.price(request.symbol);
    if (price === undefined) return `no market data for ${request.symbol}`;
    if (request.side === "sell") {
      const held = ledger.quantity(request.accountId, request.symbol);
      const free = held - promised(request.accountId, request.symbol);
      if (request.quantity > free) {
        return `insufficient shares: selling ${request.quantity} ${request.symbol}, ${free} available (${held} held)`;
      }
      return undefined;
    }
    if (whatIf) return undefined;
    const cost = request.quantity * (request.orderType === "limit" ? request.limitPrice! : price);
    const available = availableFunds(request.accountId);
    if (cost > available) {
      return `insufficient buying power: the order needs ${cost.toFixed(2)}, ${available.toFixed(2)} available`;
    }
    return undefined;
  }

  function submit(w: WorkingOrder): void {
    if (w.order.status !== "pending_submit") return; // cancelled before it reached the market
    const reason = refusal(w);
    if (reason !== undefined) {
      finish(w, "rejected", reason);
      return;
    }
    w.order.status = "submitted";
    due(w, neverFills(w.request) ? undefined : fillDelayMs);
    store.saveOrder(w);
    emit(statusEvent(w));
    arm(w);
  }

  /** Fills the next part when the market is open and the price allows; otherwise looks again later. */
  function tryFill(w: WorkingOrder): void {
    if (terminal.has(w.order.status)) return;
    const { order, request } = w;
    const price = ledger.price(order.symbol);
    const open = marketHours.session(order.symbol, now(), request.outsideRth).open;
    const marketable =
      price !== undefined &&
      (order.orderType !== "limit" ||
        (order.side === "buy" ? price <= order.limitPrice : price >= order.limitPrice));
    if (!open || !marketable) {
      // Not saved: after a restart the order is simply looked at again at once.
      w.timer = later(() => tryFill(w), fillDelayMs);
      return;
    }
    const quantity = w.parts[w.fills]!;
    if (order.side === "buy" && quantity * price > availableFunds(order.accountId, w)) {
      finish(
        w,
        "rejected",
        `insufficient buying power at ${price} for ${quantity} ${order.symbol}`,
      );
      return;
    }
    if (order.side === "sell" && quantity > ledger.quantity(order.accountId, order.symbol)) {
      finish(w, "rejected", `insufficient shares: ${order.symbol} is no longer held`);
      return;
    }
    ledger.applyFill(order.accountId, order.side, order.symbol, quantity, price);
    w.fills++;
    const filled = order.filledQuantity + quantity;
    order.averageFillPrice =
      (order.filledQuantity * order.averageFillPrice + quantity * price) / filled;
    order.filledQuantity = filled;
    order.status = filled === order.quantity ? "filled" : "partially_filled";
    const fill: BrokerFill = {
      orderId: order.orderId,
      executionId: `${order.orderId}.${w.fills}`,
      accountId: order.accountId,
      symbol: order.symbol,
      side: order.side,
      quantity,
      price,
      time: now(),
    };
    due(w, order.status === "partially_filled" ? fillDelayMs : undefined);
    store.saveFill(w, fill, ledger.books(order.accountId));
    if (order.status === "filled") orders.delete(order.orderId);
    emit({ kind: "fill", fill, order: { ...order } });
    emit(statusEvent(w));
    arm(w);
  }

  function ensureOpen(): void {
    if (closed) throw new BrokerError("unavailable", "the simulated broker is closed");
  }

  function knownAccount(accountId: string): void {
    ensureOpen();
    ledger.assertAccount(accountId);
  }

  // Orders that were working when the broker last stopped carry on, on the schedule they had.
  for (const w of store.workingOrders()) {
    orders.set(w.order.orderId, w);
    arm(w);
  }

  return {
    name: "sim",

    health() {
      if (closed) return { connected: false, detail: "simulated broker, closed", interruptions: 0 };
      return {
        connected: true,
        interruptions: 0,
        detail: `simulated broker: accounts ${ledger.accountIds().join(", ")}; market ${marketHours.description}`,
      };
    },

    async holdings(accountId: string): Promise<Holding[]> {
      ensureOpen();
      return ledger.holdings(accountId);
    },

    async accountValues(accountId: string): Promise<AccountValues> {
      knownAccount(accountId);
      return {
        netLiquidation: ledger.netLiquidation(accountId),
        cash: ledger.cash(accountId),
        availableFunds: availableFunds(accountId),
        currency: ledger.currency,
        asOf: now(),
      };
    },

    async quotes(symbols: string[]): Promise<Map<string, Quote>> {
      ensureOpen();
      const quotes = new Map<string, Quote>();
      for (const symbol of symbols) {
        const price = ledger.price(symbol);
        if (price !== undefined) quotes.set(symbol, { symbol, price, source: "last" });
      }
      return quotes;
    },

    async sessions(
      symbols: string[],
      at: Date,
      extended: boolean,
    ): Promise<Map<string, MarketSession>> {
      ensureOpen();
      return new Map(symbols.map((s) => [s, marketHours.session(s, at, extended)]));
    },

    async openOrders(accountId: string): Promise<BrokerOrder[]> {
      knownAccount(accountId);
      return [...orders.values()]
        .filter((w) => w.order.accountId === accountId)
        .map((w) => ({ ...w.order }));
    },

    async preflight(request: OrderRequest): Promise<PreflightCheck> {
      knownAccount(request.accountId);
      const reason = refusal({ request }, true);
      if (reason !== undefined) {
        return {
          accepted: false,
          reason,
          brokerCode: 201,
          initialMarginChange: 0,
          maintenanceMarginChange: 0,
          equityWithLoanChange: 0,
          commission: 0,
          commissionCurrency: "",
          warnings: [],
        };
      }
      // A cash account: a buy ties up its whole value, a sell frees it; commission is spent.
      const price =
        request.orderType === "limit" ? request.limitPrice! : ledger.price(request.symbol)!;
      const value = Math.round(request.quantity * price * 100) / 100;
      const change = request.side === "buy" ? value : -value;
      const commission = commissionFor(request.quantity, price);
      return {
        accepted: true,
        reason: "",
        brokerCode: 0,
        initialMarginChange: change,
        maintenanceMarginChange: change,
        equityWithLoanChange: -commission,
        commission,
        commissionCurrency: ledger.currency,
        warnings: [],
      };
    },

    async placeOrder(request: OrderRequest): Promise<BrokerOrder> {
      knownAccount(request.accountId);
      const order = pendingOrder(String(nextOrderId++), request);
      const w: WorkingOrder = {
        order,
        request: { ...request },
        parts: split(request.quantity, fillParts),
        fills: 0,
      };
      // The broker looks at the order on a later turn, as a real one answers after the call
      // returns; it is saved first, so an order acknowledged here survives a crash right after.
      due(w, 0);
      store.saveOrder(w);
      orders.set(order.orderId, w);
      arm(w);
      return { ...order };
    },

    async cancelOrder(orderId: string): Promise<void> {
      ensureOpen();
      const w = orders.get(orderId);
      if (w) return finish(w, "cancelled", "cancelled on request");
      // An order that is already done reports how it ended: that is the outcome of the cancel.
      const done = store.order(orderId);
      if (!done) throw new BrokerError("order_rejected", `no order ${orderId} to cancel`);
      emit({ kind: "status", order: done.order });
    },

    async runActivity(accountId: string, runId: string, since: Date): Promise<RunActivity> {
      knownAccount(accountId);
      return store.runActivity(accountId, runId, since);
    },

    onOrderEvent(listener: (event: OrderEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      listeners.clear();
      store.close();
    },

    setPrice(symbol: string, price: number | null): void {
      ledger.setPrice(symbol, price);
    },

    snapshot(): SimState {
      const books = ledger.snapshot();
      return iraRestricted.size > 0
        ? { ...books, iraRestrictedSymbols: [...iraRestricted] }
        : books;
    },
  };
}

/** `quantity` shares in up to `parts` whole-share fills; the last takes the remainder. */
function split(quantity: number, parts: number): number[] {
  if (!Number.isInteger(quantity) || quantity <= 0) return [quantity];
  const count = Math.min(parts, quantity);
  const each = Math.floor(quantity / count);
  return Array.from({ length: count }, (_, i) =>
    i === count - 1 ? quantity - each * (count - 1) : each,
  );
}
