// The broker port: everything the rebalancer needs from a broker, in the system's own terms.
// Nothing IBKR-specific belongs here; adapters (sim/, ibkr/) translate.

/** Buy or sell. */
export type Side = "buy" | "sell";

/** How an order is priced. */
export type OrderType = "market" | "limit" | "market_on_close";

/** Where an order stands at the broker. Terminal: filled, cancelled, rejected. */
export type OrderState =
  "pending_submit" | "submitted" | "partially_filled" | "filled" | "cancelled" | "rejected";

/** One holding as the broker reports it. Value is never taken from averageCost. */
export interface Holding {
  symbol: string;
  /** Shares held; may be fractional as reported; negative for a short. */
  quantity: number;
  /** Average cost per share, for information only. */
  averageCost: number;
  currency: string;
}

/** Account-level values. Money in the account's base currency. */
export interface AccountValues {
  netLiquidation: number;
  /** TotalCashValue. */
  cash: number;
  availableFunds: number;
  currency: string;
  asOf: Date;
}

/** A price for a symbol and where it came from. */
export interface Quote {
  symbol: string;
  price: number;
  source: "last" | "midpoint" | "close";
}

/** Whether a symbol's market is open at a time, and when it opens next. */
export interface MarketSession {
  symbol: string;
  open: boolean;
  /** Start of the next session when closed (undefined when open or unknown). */
  nextOpen?: Date;
}

/** An order to place. Quantities are whole shares. */
export interface OrderRequest {
  accountId: string;
  symbol: string;
  side: Side;
  quantity: number;
  orderType: OrderType;
  /** Required for limit orders. */
  limitPrice?: number;
  /** e.g. "DAY", "GTC". */
  timeInForce: string;
  /** Allow filling outside regular trading hours. */
  outsideRth: boolean;
  /** Run id, stored at the broker (IBKR orderRef) so a restart can find the run's orders. */
  runId: string;
}

/** An order at the broker. */
export interface BrokerOrder {
  orderId: string;
  accountId: string;
  symbol: string;
  side: Side;
  quantity: number;
  orderType: OrderType;
  limitPrice: number;
  timeInForce: string;
  status: OrderState;
  filledQuantity: number;
  averageFillPrice: number;
  /** The broker's reason for a rejection or cancellation. */
  message: string;
  /**
   * What the broker said about the order that did not end it, e.g. "IB 10349: Order TIF was set
   * to DAY based on order preset"; oldest first. Absent when there is none.
   */
  warnings?: string[];
  runId: string;
  /**
   * Who placed the order when it was not this adapter's client, e.g. "API client 3" or "TWS or
   * API client 0": such an order cannot be cancelled from here. Absent for our own orders.
   */
  placedBy?: string;
}

/** One execution of an order. */
export interface BrokerFill {
  orderId: string;
  executionId: string;
  accountId: string;
  symbol: string;
  side: Side;
  quantity: number;
  price: number;
  time: Date;
}

/** Something happened to an order: a status change or a fill. */
export type OrderEvent =
  { kind: "status"; order: BrokerOrder } | { kind: "fill"; fill: BrokerFill; order: BrokerOrder };

/** What the broker itself holds about one run: its orders (by run id) and their executions. */
export interface RunActivity {
  /** Every order carrying the run id that the broker knows of, in its latest state. */
  orders: BrokerOrder[];
  /** Every execution of those orders; each execution id once. */
  fills: BrokerFill[];
}

/**
 * The broker's answer to a what-if check of one order (IBKR: a what-if order, which IB answers
 * with the margin and commission impact and never works or fills). Money in the account's base
 * currency; 0 where the broker did not say.
 */
export interface PreflightCheck {
  /** True when the broker would take the order. */
  accepted: boolean;
  /** The broker's reason for a refusal; "" when accepted. */
  reason: string;
  /** The broker's code for a refusal (IB 201, 203, ...); 0 when accepted or unknown. */
  brokerCode: number;
  /** Initial margin change if the order filled: positive for a buy, negative when freed. */
  initialMarginChange: number;
  maintenanceMarginChange: number;
  equityWithLoanChange: number;
  commission: number;
  /** e.g. "USD"; "" when unknown. */
  commissionCurrency: string;
  /** What the broker warned about without refusing, oldest first. */
  warnings: string[];
}

/** Health of the broker connection. */
export interface BrokerHealth {
  connected: boolean;
  /** For humans, e.g. "connected to 127.0.0.1:4002 as client 7". */
  detail: string;
  /**
   * How many times the connection was lost since the broker was created. A change while orders
   * are working means events may have been missed, even if it is connected again.
   */
  interruptions: number;
}

/** What the rebalancer needs from a broker. Methods reject with a BrokerError. */
export interface Broker {
  /** e.g. "sim" or "ibkr". */
  readonly name: string;
  health(): BrokerHealth;
  holdings(accountId: string): Promise<Holding[]>;
  accountValues(accountId: string): Promise<AccountValues>;
  /** Prices for many symbols at once; a symbol without a usable price is absent from the map. */
  quotes(symbols: string[]): Promise<Map<string, Quote>>;
  /** Market sessions at `at`; `extended` counts extended hours as open. */
  sessions(symbols: string[], at: Date, extended: boolean): Promise<Map<string, MarketSession>>;
  /** Orders still working for the account. */
  openOrders(accountId: string): Promise<BrokerOrder[]>;
  /**
   * Asks the broker whether it would take the order and what it would cost, without placing it:
   * nothing works, nothing fills. A refusal resolves with `accepted: false`; the promise rejects
   * (BrokerError) only when the broker could not answer. Absent: the broker cannot check orders
   * in advance, and runs say they skipped the preflight.
   */
  preflight?(request: OrderRequest): Promise<PreflightCheck>;
  /** Places an order; resolves once the broker has accepted it for processing. */
  placeOrder(request: OrderRequest): Promise<BrokerOrder>;
  /** Asks the broker to cancel one order; the outcome arrives as an order event. */
  cancelOrder(orderId: string): Promise<void>;
  /**
   * Asks the broker afresh for a run's orders and executions since `since` (IBKR: executions and
   * open orders, after waiting a bounded time for a connection), so a record can be made equal to
   * the broker. Events for what had been missed are also sent to the order event listeners.
   */
  runActivity(accountId: string, runId: string, since: Date): Promise<RunActivity>;
  /** Subscribes to status changes and fills of every order; returns the unsubscribe function. */
  onOrderEvent(listener: (event: OrderEvent) => void): () => void;
  close(): Promise<void>;
}
