// The in-memory market and accounts behind the test TWS server: instruments with prices and
// hours, accounts with cash and positions, orders that rest or fill in parts. It knows nothing
// about sockets; the server turns its events into TWS messages.

/** An instrument the market knows. */
export interface InstrumentSpec {
  symbol: string;
  conId?: number;
  currency?: string;
  primaryExchange?: string;
  timeZoneId?: string;
  /** IB format, e.g. "20250624:0400-20250624:2000;20250625:CLOSED"; default: this week, 04-20h. */
  tradingHours?: string;
  /** Regular hours, same format; default: this week, 09:30-16:00. */
  liquidHours?: string;
  last?: number;
  bid?: number;
  ask?: number;
  close?: number;
  /** What a client without live subscriptions gets; default "delayed". */
  marketData?: "live" | "delayed" | "none";
  /** False: a snapshot request never ends (the client must time out); default true. */
  completesSnapshot?: boolean;
  /** Every order for this symbol is rejected (201) with this reason. */
  rejectOrders?: string;
}

/** An account the login manages. */
export interface AccountSpec {
  accountId: string;
  cash: number;
  currency?: string;
  positions?: Record<string, { quantity: number; averageCost: number }>;
  /** What account summaries report as AvailableFunds (e.g. below cash while sales settle); default the cash. */
  availableFunds?: number;
}

export interface Instrument extends Required<Omit<InstrumentSpec, "rejectOrders">> {
  rejectOrders?: string;
}

export interface Account {
  accountId: string;
  cash: number;
  currency: string;
  positions: Map<string, { quantity: number; averageCost: number }>;
  availableFunds?: number;
}

/** What a what-if order would do to the account, as IB's order state reports it. */
export interface WhatIfState {
  initMarginBefore: number;
  maintMarginBefore: number;
  equityWithLoanBefore: number;
  initMarginChange: number;
  maintMarginChange: number;
  equityWithLoanChange: number;
  initMarginAfter: number;
  maintMarginAfter: number;
  equityWithLoanAfter: number;
  commission: number;
  commissionCurrency: string;
  warningText: string;
}

/** An order as the market holds it. `status` uses IB's words. */
export interface TwsOrder {
  orderId: number;
  clientId: number;
  permId: number;
  accountId: string;
  symbol: string;
  action: "BUY" | "SELL";
  quantity: number;
  orderType: string;
  limitPrice?: number;
  tif: string;
  outsideRth: boolean;
  orderRef: string;
  transmit: boolean;
  status: string;
  filled: number;
  avgFillPrice: number;
  lastFillPrice: number;
}

export interface TwsExecution {
  execId: string;
  order: TwsOrder;
  shares: number;
  price: number;
  cumQty: number;
  avgPrice: number;
  time: Date;
}

/** What happened in the market, for the server to tell the clients. */
export type MarketEvent =
  | { kind: "order"; order: TwsOrder }
  | { kind: "orderError"; clientId: number; orderId: number; code: number; message: string }
  | { kind: "whatIf"; order: TwsOrder; state: WhatIfState }
  | { kind: "execution"; execution: TwsExecution }
  | { kind: "position"; accountId: string; symbol: string };

/** An order as a client sends it. */
export type OrderInput = Omit<
  TwsOrder,
  "permId" | "status" | "filled" | "avgFillPrice" | "lastFillPrice"
> & {
  conId: number;
  /** A what-if order: answered with its margin impact, never worked, filled or listed. */
  whatIf?: boolean;
};

/** An error TWS sends on an order that goes on working. */
export interface OrderErrorFault {
  code: number;
  message: string;
  when: "beforeAck" | "afterAck";
}

export interface MarketOptions {
  accounts?: AccountSpec[];
  instruments?: InstrumentSpec[];
  /** A market order fills in this many executions; default 2. */
  fillParts?: number;
  /** Delay before each execution; default 10 ms. */
  fillIntervalMs?: number;
  /**
   * Marketable orders are acknowledged but not filled: the test fills them (`fill`) and sends
   * whatever else TWS might (`resendStatus`, `resendExecution`, `sendOrderError`). Default false.
   */
  holdFills?: boolean;
}

/** Two accounts, as in the scenarios. */
export function defaultAccounts(): AccountSpec[] {
  return [
    {
      accountId: "DU111111",
      cash: 20_000,
      positions: {
        SPY: { quantity: 10, averageCost: 400 },
        VTI: { quantity: 5, averageCost: 200 },
      },
    },
    {
      accountId: "DU222222",
      cash: 5_000,
      positions: { SPY: { quantity: 3, averageCost: 450 }, BND: { quantity: 20, averageCost: 70 } },
    },
  ];
}

/** A few ETFs covering every price path: last, midpoint, close only, no data. */
export function defaultInstruments(): InstrumentSpec[] {
  return [
    { symbol: "SPY", last: 500, bid: 499.9, ask: 500.1, close: 498, primaryExchange: "ARCA" },
    { symbol: "VTI", last: 250, bid: 249.9, ask: 250.1, close: 249, marketData: "live" },
    { symbol: "QQQ", bid: 439.9, ask: 440.1, close: 438, primaryExchange: "NASDAQ" },
    { symbol: "BND", close: 72.5, primaryExchange: "NASDAQ" },
    { symbol: "VXUS", last: 60, close: 59.5, marketData: "none", primaryExchange: "NASDAQ" },
  ];
}

/** IB hours for the seven days around `now`, weekends closed, in the exchange's local time. */
export function weekOfHours(now: Date, open: string, close: string): string {
  const days: string[] = [];
  for (let offset = -1; offset <= 5; offset++) {
    const day = new Date(now.getTime() + offset * 86_400_000);
    const date = day.toISOString().slice(0, 10).replaceAll("-", "");
    const weekend = day.getUTCDay() === 0 || day.getUTCDay() === 6;
    days.push(weekend ? `${date}:CLOSED` : `${date}:${open}-${date}:${close}`);
  }
  return days.join(";");
}

const TERMINAL = new Set(["Filled", "Cancelled", "ApiCancelled", "Inactive"]);

export class TwsMarket {
  readonly instruments = new Map<string, Instrument>();
  readonly accounts = new Map<string, Account>();
  readonly orders: TwsOrder[] = [];
  readonly executions: TwsExecution[] = [];
  private readonly listeners = new Set<(event: MarketEvent) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly fillParts: number;
  private readonly fillIntervalMs: number;
  private readonly holdFills: boolean;
  private nextPermId = 900_000_001;
  private nextExecId = 1;
  private pendingRejection?: string;
  private pendingOrderErrors: OrderErrorFault[] = [];
  /** What-if orders received, answered or refused, oldest first (they are never in `orders`). */
  readonly whatIfOrders: TwsOrder[] = [];
  /** Warning text sent with what-if answers, as IB sends for e.g. a closed market. */
  whatIfWarning = "";
  /**
   * Answer each what-if twice, as IB sometimes does: first only the warning text with every
   * figure unset (Number.MAX_VALUE on the wire), then the figures (erdewit/ib_insync #380).
   */
  whatIfTwoAnswers = false;

  constructor(options: MarketOptions = {}) {
    this.fillParts = options.fillParts ?? 2;
    this.fillIntervalMs = options.fillIntervalMs ?? 10;
    this.holdFills = options.holdFills ?? false;
    let conId = 100_001;
    for (const spec of options.instruments ?? defaultInstruments())
      this.addInstrument(spec, conId++);
    for (const spec of options.accounts ?? defaultAccounts()) {
      this.accounts.set(spec.accountId, {
        accountId: spec.accountId,
        cash: spec.cash,
        currency: spec.currency ?? "USD",
        positions: new Map(Object.entries(spec.positions ?? {})),
        availableFunds: spec.availableFunds,
      });
    }
  }

  onEvent(listener: (event: MarketEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addInstrument(spec: InstrumentSpec, conId = 100_001 + this.instruments.size): Instrument {
    const now = new Date();
    const instrument: Instrument = {
      conId,
      currency: "USD",
      primaryExchange: "ARCA",
      timeZoneId: "US/Eastern",
      tradingHours: weekOfHours(now, "0400", "2000"),
      liquidHours: weekOfHours(now, "0930", "1600"),
      last: -1,
      bid: -1,
      ask: -1,
      close: -1,
      marketData: "delayed",
      completesSnapshot: true,
      ...spec,
    };
    this.instruments.set(spec.symbol, instrument);
    return instrument;
  }

  /** Finds an instrument by conId when given, else by symbol. */
  instrument(conId: number, symbol: string): Instrument | undefined {
    if (conId) return [...this.instruments.values()].find((i) => i.conId === conId);
    return this.instruments.get(symbol);
  }

  /** The price a market order would get, or undefined when there is none. */
  priceFor(instrument: Instrument, action: "BUY" | "SELL"): number | undefined {
    const quoted = action === "BUY" ? instrument.ask : instrument.bid;
    return [quoted, instrument.last, instrument.close].find((p) => p > 0);
  }

  /** Cash plus every position at its market price. */
  netLiquidation(account: Account): number {
    let value = account.cash;
    for (const [symbol, position] of account.positions) {
      const instrument = this.instruments.get(symbol);
      const price = instrument ? [instrument.last, instrument.close].find((p) => p > 0) : undefined;
      value += position.quantity * (price ?? position.averageCost);
    }
    return value;
  }

  /** The next order placed by anyone is rejected with this reason. */
  rejectNextOrder(reason: string): void {
    this.pendingRejection = reason;
  }

  /**
   * The next order placed gets this error on its id while it keeps working, as TWS sends 10349
   * "Order TIF was set to DAY based on order preset": before its first status ("beforeAck") or
   * right after it ("afterAck", also a late 201 on a working order).
   */
  injectOrderError(fault: OrderErrorFault): void {
    this.pendingOrderErrors.push(fault);
  }

  /**
   * A limit order resting at the broker that another client placed (another API client id, or 0
   * for an order entered in TWS by hand): clients see it through reqAllOpenOrders only. Priced
   * away from the market, so it never fills.
   */
  addForeignRestingOrder(order: {
    clientId: number;
    orderId: number;
    accountId: string;
    symbol: string;
    action: "BUY" | "SELL";
    quantity: number;
  }): TwsOrder {
    const instrument = this.instruments.get(order.symbol)!;
    this.placeOrder({
      ...order,
      conId: instrument.conId,
      orderType: "LMT",
      limitPrice: order.action === "BUY" ? 1 : 1_000_000,
      tif: "GTC",
      outsideRth: false,
      orderRef: "",
      transmit: true,
    });
    return this.orders.at(-1)!;
  }

  /** Executes `shares` of a working order now, at the market's price (with holdFills). */
  fill(order: TwsOrder, shares: number): TwsExecution {
    const instrument = this.instruments.get(order.symbol)!;
    this.execute(order, shares, this.priceFor(instrument, order.action)!);
    return this.executions.at(-1)!;
  }

  /**
   * Sends the order's open order and status again, as TWS repeats them, optionally as an older
   * snapshot (e.g. status "Submitted" with fewer shares filled); the order itself is unchanged.
   */
  resendStatus(order: TwsOrder, asOf: Partial<Pick<TwsOrder, "status" | "filled">> = {}): void {
    this.emit({ kind: "order", order: { ...order, ...asOf } });
  }

  /** Sends an execution again (same execution id), as after a re-request. */
  resendExecution(execution: TwsExecution): void {
    this.emit({ kind: "execution", execution });
  }

  /** Sends an error on the order's id; the order itself is unchanged. */
  sendOrderError(order: TwsOrder, code: number, message: string): void {
    this.emit({
      kind: "orderError",
      clientId: order.clientId,
      orderId: order.orderId,
      code,
      message,
    });
  }

  /** Orders not yet filled, cancelled or rejected. */
  workingOrders(): TwsOrder[] {
    return this.orders.filter((o) => !TERMINAL.has(o.status));
  }

  /** The next order id a client may use. */
  nextOrderId(clientId: number): number {
    const own = this.orders.filter((o) => o.clientId === clientId).map((o) => o.orderId);
    return Math.max(0, ...own) + 1;
  }

  placeOrder(input: OrderInput): void {
    if (input.whatIf) return this.answerWhatIf(input);
    const reject = (code: number, message: string) =>
      this.emit({
        kind: "orderError",
        clientId: input.clientId,
        orderId: input.orderId,
        code,
        message,
      });
    if (this.orders.some((o) => o.clientId === input.clientId && o.orderId === input.orderId)) {
      return reject(103, "Duplicate order id");
    }
    const instrument = this.instrument(input.conId, input.symbol);
    if (!instrument) return reject(200, "No security definition has been found for the request");
    const account = this.accounts.get(input.accountId);
    const order: TwsOrder = {
      ...input,
      symbol: instrument.symbol,
      permId: this.nextPermId++,
      status: "PendingSubmit",
      filled: 0,
      avgFillPrice: 0,
      lastFillPrice: 0,
    };
    this.orders.push(order);
    const price = this.priceFor(instrument, order.action);
    const reason = !account
      ? `Account ${input.accountId} is not available to this login`
      : (this.takePendingRejection() ??
        instrument.rejectOrders ??
        this.marginShortfall(order, account, price));
    if (reason !== undefined) {
      reject(201, `Order rejected - reason:${reason}`);
      return this.setStatus(order, "Cancelled");
    }
    const faults = this.pendingOrderErrors.splice(0);
    const injectErrors = (when: OrderErrorFault["when"]) => {
      for (const fault of faults.filter((f) => f.when === when)) reject(fault.code, fault.message);
    };
    injectErrors("beforeAck");
    if (!order.transmit) return this.setStatus(order, "PendingSubmit");
    if (order.orderType === "MOC") {
      this.setStatus(order, "PreSubmitted");
      return injectErrors("afterAck");
    }
    this.setStatus(order, "Submitted");
    injectErrors("afterAck");
    const marketable =
      order.orderType === "MKT" ||
      (order.orderType === "LMT" &&
        price !== undefined &&
        (order.action === "BUY" ? order.limitPrice! >= price : order.limitPrice! <= price));
    if (marketable && price !== undefined && !this.holdFills) this.fillInParts(order, price);
  }

  /**
   * A what-if order, as IB answers one: 201 for a contract the account may not trade (the
   * instrument's `rejectOrders`), else an openOrder with `whatIf` set and the margin fields of a
   * cash account (a buy ties up its value, a sell frees it). No working order, no fill, and the
   * funds are not checked: the answer says what the order needs.
   */
  private answerWhatIf(input: OrderInput): void {
    const { whatIf: _whatIf, conId: _conId, ...fields } = input;
    const reject = (code: number, message: string) =>
      this.emit({
        kind: "orderError",
        clientId: input.clientId,
        orderId: input.orderId,
        code,
        message,
      });
    const instrument = this.instrument(input.conId, input.symbol);
    const order: TwsOrder = {
      ...fields,
      symbol: instrument?.symbol ?? input.symbol,
      permId: this.nextPermId++,
      status: "PreSubmitted",
      filled: 0,
      avgFillPrice: 0,
      lastFillPrice: 0,
    };
    this.whatIfOrders.push(order);
    if (!instrument) return reject(200, "No security definition has been found for the request");
    const account = this.accounts.get(input.accountId);
    if (!account) {
      return reject(
        201,
        `Order rejected - reason:Account ${input.accountId} is not available to this login`,
      );
    }
    if (instrument.rejectOrders !== undefined) {
      order.status = "Inactive";
      return reject(201, `Order rejected - reason:${instrument.rejectOrders}`);
    }
    const price = order.limitPrice ?? this.priceFor(instrument, order.action) ?? 0;
    const value = Math.round(order.quantity * price * 100) / 100;
    const change = order.action === "BUY" ? value : -value;
    const before = this.netLiquidation(account) - account.cash;
    const equity = this.netLiquidation(account);
    const commission = Math.min(Math.max(1, order.quantity * 0.005), value * 0.01);
    if (this.whatIfTwoAnswers) {
      const unset = Number.MAX_VALUE;
      this.emit({
        kind: "whatIf",
        order,
        state: {
          initMarginBefore: unset,
          maintMarginBefore: unset,
          equityWithLoanBefore: unset,
          initMarginChange: unset,
          maintMarginChange: unset,
          equityWithLoanChange: unset,
          initMarginAfter: unset,
          maintMarginAfter: unset,
          equityWithLoanAfter: unset,
          commission: unset,
          commissionCurrency: "",
          warningText: this.whatIfWarning,
        },
      });
    }
    this.emit({
      kind: "whatIf",
      order,
      state: {
        initMarginBefore: before,
        maintMarginBefore: before,
        equityWithLoanBefore: equity,
        initMarginChange: change,
        maintMarginChange: change,
        equityWithLoanChange: -commission,
        initMarginAfter: before + change,
        maintMarginAfter: before + change,
        equityWithLoanAfter: equity - commission,
        commission,
        commissionCurrency: account.currency,
        warningText: this.whatIfWarning,
      },
    });
  }

  cancelOrder(clientId: number, orderId: number): void {
    const order = this.orders.find((o) => o.clientId === clientId && o.orderId === orderId);
    if (!order) {
      const message = `OrderId ${orderId} that needs to be cancelled is not found.`;
      return this.emit({ kind: "orderError", clientId, orderId, code: 10147, message });
    }
    if (TERMINAL.has(order.status)) {
      const message = `OrderId ${orderId} that needs to be cancelled cannot be cancelled, state: ${order.status}.`;
      return this.emit({ kind: "orderError", clientId, orderId, code: 10148, message });
    }
    this.cancel(order);
  }

  /** Global cancel: every working order of every client. */
  cancelAll(): void {
    for (const order of this.workingOrders()) this.cancel(order);
  }

  /** The closing auction: market-on-close orders fill at the close price. */
  closeAuction(): void {
    for (const order of this.workingOrders().filter((o) => o.orderType === "MOC")) {
      const instrument = this.instruments.get(order.symbol)!;
      this.execute(
        order,
        order.quantity,
        instrument.close > 0 ? instrument.close : instrument.last,
      );
    }
  }

  /** Stops pending fills. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private cancel(order: TwsOrder): void {
    this.setStatus(order, "Cancelled");
    const message = "Order Canceled - reason:";
    this.emit({
      kind: "orderError",
      clientId: order.clientId,
      orderId: order.orderId,
      code: 202,
      message,
    });
  }

  private takePendingRejection(): string | undefined {
    const reason = this.pendingRejection;
    this.pendingRejection = undefined;
    return reason;
  }

  private marginShortfall(
    order: TwsOrder,
    account: Account,
    price: number | undefined,
  ): string | undefined {
    const cost = order.action === "BUY" ? order.quantity * (order.limitPrice ?? price ?? 0) : 0;
    if (cost <= account.cash) return undefined;
    return (
      `YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN ` +
      `VALUE [${account.cash.toFixed(2)} USD] MUST EXCEED THE INITIAL MARGIN [${cost.toFixed(2)} USD]`
    );
  }

  private fillInParts(order: TwsOrder, price: number): void {
    const parts = Math.max(1, Math.min(this.fillParts, order.quantity));
    const size = Math.floor(order.quantity / parts);
    const step = (part: number) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (TERMINAL.has(order.status)) return;
        this.execute(order, part === parts ? order.quantity - order.filled : size, price);
        if (part < parts) step(part + 1);
      }, this.fillIntervalMs);
      this.timers.add(timer);
    };
    step(1);
  }

  private execute(order: TwsOrder, shares: number, price: number): void {
    const account = this.accounts.get(order.accountId)!;
    const signed = order.action === "BUY" ? shares : -shares;
    const held = account.positions.get(order.symbol) ?? { quantity: 0, averageCost: 0 };
    const quantity = held.quantity + signed;
    const averageCost =
      signed > 0
        ? (held.quantity * held.averageCost + shares * price) / quantity
        : held.averageCost;
    account.positions.set(order.symbol, { quantity, averageCost: quantity ? averageCost : 0 });
    account.cash -= signed * price;
    order.avgFillPrice =
      (order.avgFillPrice * order.filled + price * shares) / (order.filled + shares);
    order.filled += shares;
    order.lastFillPrice = price;
    const execution: TwsExecution = {
      execId: `0000e0d5.${(this.nextExecId++).toString(16).padStart(8, "0")}.01.01`,
      order,
      shares,
      price,
      cumQty: order.filled,
      avgPrice: order.avgFillPrice,
      time: new Date(),
    };
    this.executions.push(execution);
    this.emit({ kind: "execution", execution });
    this.setStatus(order, order.filled >= order.quantity ? "Filled" : "Submitted");
    this.emit({ kind: "position", accountId: account.accountId, symbol: order.symbol });
  }

  private setStatus(order: TwsOrder, status: string): void {
    order.status = status;
    this.emit({ kind: "order", order });
  }

  private emit(event: MarketEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
