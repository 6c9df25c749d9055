// Placing, following and cancelling orders. IBApiNext has no live stream of our own orders, so we
// listen to the underlying IBApi's openOrder / orderStatus / execDetails / error events, keep one
// record per order placed by this client id, and turn changes into the port's order events.

import {
  EventName,
  type Contract,
  type Execution,
  type OpenOrder,
  type Order,
  type OrderState as IbOrderState,
} from "@stoqey/ib";
import { defer } from "rxjs";
import { BrokerError } from "../broker-error.js";
import { pendingOrder } from "../pending-order.js";
import type {
  BrokerFill,
  BrokerOrder,
  OrderEvent,
  OrderRequest,
  PreflightCheck,
  RunActivity,
} from "../broker.js";
import type { IbkrAccounts } from "./ibkr-accounts.js";
import { guarded, type IbkrConnection, type IbkrLog } from "./ibkr-connection.js";
import type { IbkrContracts } from "./ibkr-contracts.js";
import { limitConcurrency } from "./limit-concurrency.js";
import {
  brokerErrorFromIb,
  isIbWarning,
  ORDER_REJECT_CODES,
  rejectionReason,
  REQUEST_REFUSED_CODES,
} from "./ibkr-errors.js";
import {
  brokerOrderFromExecution,
  brokerOrderFromOpenOrder,
  fillFromExecution,
  ibOrderFromRequest,
  isTerminal,
  orderStateFrom,
} from "./ibkr-translate.js";

/** What we know about one of our orders. */
interface TrackedOrder {
  ibOrderId: number;
  /** For messages, e.g. "BUY 10 SPY for DU111111 (order 1000001)". */
  what: string;
  view: BrokerOrder;
  ibStatus?: string;
  statusFilled: number;
  statusAveragePrice: number;
  /** Its executions by execution id: each counted once however often IB reports it. */
  executions: Map<string, BrokerFill>;
  /** When it was placed or first seen, to bound the executions asked for after a reconnect. */
  seenAt: Date;
  rejected: boolean;
  /** True once TWS said anything about the order (status, open order, execution). */
  confirmed: boolean;
  /** Known only by its executions (placed before a restart, no longer open): its quantity grows with them. */
  fromExecutions?: boolean;
  message: string;
  /** Codes IB sent on the order that did not end it, as "IB <code>: <text>". */
  warnings: string[];
  /** The status event last sent, to send each change once. */
  lastEmitted?: string;
  /** placeOrder waiting for TWS to confirm. */
  ack?: {
    resolve(order: BrokerOrder): void;
    reject(error: BrokerError): void;
    timer: NodeJS.Timeout;
  };
}

/** A what-if order waiting for IB's answer. */
interface PendingWhatIf {
  /** For messages, e.g. "what-if BUY 10 SPY for DU111111 (order 1000001)". */
  what: string;
  /** IB's warningText and informational codes, in arrival order. */
  warnings: string[];
  resolve(check: PreflightCheck): void;
  timer: NodeJS.Timeout;
  reject(error: BrokerError): void;
}

type Emitter = Record<
  "on" | "off",
  (event: string, listener: (...args: unknown[]) => void) => unknown
>;

const IB_FINAL = new Set(["Filled", "Cancelled", "ApiCancelled", "Inactive"]);

export class IbkrOrders {
  private readonly tracked = new Map<number, TrackedOrder>();
  private readonly whatIfs = new Map<number, PendingWhatIf>();
  private readonly listeners = new Set<(event: OrderEvent) => void>();
  private readonly detach: (() => void)[] = [];
  private lastOrderId = 0;
  /** The open-orders request in progress: the next one waits for it (see allOpenOrders). */
  private openOrdersTail: Promise<unknown> = Promise.resolve();
  private readonly whatIfGate: <T>(task: () => Promise<T>) => Promise<T>;

  constructor(
    private readonly connection: IbkrConnection,
    private readonly contracts: IbkrContracts,
    private readonly accounts: IbkrAccounts,
    private readonly options: {
      orderIdBase: number;
      requestTimeoutMs: number;
      /** Extra codes that are only ever warnings on an order. */
      informationalCodes: number[];
      /** What-if orders waiting for TWS at once (more wait their turn); default 20. */
      whatIfConcurrency?: number;
    },
    private readonly log: IbkrLog,
  ) {
    this.whatIfGate = limitConcurrency(options.whatIfConcurrency ?? 20);
    // IBApi's typed overloads do not admit a generic listener; it is an event emitter underneath.
    const api = connection.api as unknown as Emitter;
    const on = <A extends unknown[]>(event: EventName, handler: (...args: A) => void) => {
      const listener = (...args: unknown[]) => guarded(log, "order", () => handler(...(args as A)));
      api.on(event, listener);
      this.detach.push(() => api.off(event, listener));
    };
    on(
      EventName.openOrder,
      (orderId: number, contract: Contract, order: Order, state: IbOrderState) =>
        this.onOpenOrder(orderId, contract, order, state),
    );
    on(
      EventName.orderStatus,
      (
        orderId: number,
        status: string,
        filled: number,
        _remaining: number,
        avgFillPrice: number,
        _permId?: number,
        _parentId?: number,
        _lastFillPrice?: number,
        clientId?: number,
      ) => this.onOrderStatus(orderId, status, filled, avgFillPrice, clientId),
    );
    on(EventName.execDetails, (_reqId: number, contract: Contract, execution: Execution) =>
      this.onExecution(contract, execution),
    );
    on(EventName.error, (error: Error, code: number, reqId: number) =>
      this.onError(reqId, code, error.message),
    );
    const started = connection.sessionStarted.subscribe(() => void this.reconcile());
    const ended = connection.sessionEnded.subscribe(() => {
      this.failPendingAcks("connection to TWS lost");
      this.failWhatIfs("connection to TWS lost");
    });
    this.detach.push(
      () => started.unsubscribe(),
      () => ended.unsubscribe(),
    );
  }

  onOrderEvent(listener: (event: OrderEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends the order; resolves once TWS confirms it, rejects with order_rejected on 201 etc. */
  async place(request: OrderRequest): Promise<BrokerOrder> {
    const side = request.side === "buy" ? "BUY" : "SELL";
    const description = `${side} ${request.quantity} ${request.symbol} for ${request.accountId}`;
    assertValid(request, description);
    await this.accounts.assertKnown(request.accountId);
    const contract = await this.contracts.contract(request.symbol);
    this.connection.assertReady(`order ${description}`);
    const ibOrderId = this.nextOrderId();
    const tracked = this.track(ibOrderId, description, pendingOrder(String(ibOrderId), request));
    const acknowledged = new Promise<BrokerOrder>((resolve, reject) => {
      const ms = this.options.requestTimeoutMs;
      const timer = setTimeout(() => {
        tracked.ack = undefined;
        const text = `${tracked.what}: sent, but TWS did not confirm it within ${ms} ms; check open orders before placing it again`;
        reject(new BrokerError("unavailable", text, false));
      }, ms);
      tracked.ack = { resolve, reject, timer };
    });
    this.log.info(
      { orderId: ibOrderId, runId: request.runId, type: request.orderType },
      `placing ${tracked.what}`,
    );
    this.connection.next.placeOrder(ibOrderId, contract, ibOrderFromRequest(request));
    return acknowledged;
  }

  /**
   * Sends the order as a what-if order (same contract, side, quantity, type and account, with
   * `whatIf` set): IB answers with an openOrder carrying the margin and commission impact and
   * neither works nor fills it. A reject code on its id (201, 203, ...) resolves as refused.
   */
  whatIf(request: OrderRequest): Promise<PreflightCheck> {
    return this.whatIfGate(() => this.sendWhatIf(request));
  }

  private async sendWhatIf(request: OrderRequest): Promise<PreflightCheck> {
    const side = request.side === "buy" ? "BUY" : "SELL";
    const description = `${side} ${request.quantity} ${request.symbol} for ${request.accountId}`;
    assertValid(request, description);
    await this.accounts.assertKnown(request.accountId);
    const contract = await this.contracts.contract(request.symbol);
    this.connection.assertReady(`what-if order ${description}`);
    const ibOrderId = this.nextOrderId();
    const what = `what-if ${description} (order ${ibOrderId})`;
    const answered = new Promise<PreflightCheck>((resolve, reject) => {
      const ms = this.options.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.whatIfs.delete(ibOrderId);
        reject(new BrokerError("unavailable", `${what}: TWS did not answer within ${ms} ms`));
      }, ms);
      this.whatIfs.set(ibOrderId, { what, warnings: [], resolve, reject, timer });
    });
    this.log.debug({ orderId: ibOrderId }, `checking ${what}`);
    this.connection.next.placeOrder(ibOrderId, contract, {
      ...ibOrderFromRequest(request),
      whatIf: true,
    });
    return answered;
  }

  /** Asks TWS to cancel one of this client's orders; the outcome arrives as an order event. */
  async cancel(orderId: string): Promise<void> {
    if (!/^\d+$/.test(orderId)) {
      const text = `cannot cancel order ${orderId}: another API client or TWS placed it; cancel it there or use a global cancel`;
      throw new BrokerError("order_rejected", text, false);
    }
    const tracked = this.tracked.get(Number(orderId));
    if (tracked && isTerminal(tracked.view.status)) return;
    this.connection.assertReady(`cancel order ${orderId}`);
    this.log.info({ orderId }, `cancelling order ${orderId}`);
    this.connection.next.cancelOrder(Number(orderId), { manualOrderCancelTime: "" });
  }

  /** IB's global cancel: every open order of the login, whoever placed it. */
  async cancelAll(): Promise<void> {
    this.connection.assertReady("global cancel");
    this.log.warn("cancelling every open order of the login (global cancel)");
    this.connection.next.cancelAllOrders();
  }

  /** The account's working orders, whoever placed them. */
  async open(accountId: string): Promise<BrokerOrder[]> {
    await this.accounts.assertKnown(accountId);
    const { open } = await this.allOpenOrders(`open orders of ${accountId}`);
    const clientId = this.connection.clientId;
    return (
      open
        // What-if answers come as open orders too, and the library keeps those that arrive while
        // another list is being read: they never work, so they are not listed.
        .filter((o) => o.order.account === accountId && !o.order.whatIf)
        .map((o) => {
          const own = o.order.clientId === clientId ? this.tracked.get(o.orderId) : undefined;
          return own ? { ...own.view } : brokerOrderFromOpenOrder(o, clientId);
        })
        .filter((o) => !isTerminal(o.status))
    );
  }

  close(): void {
    this.failPendingAcks("the IBKR broker was closed");
    this.failWhatIfs("the IBKR broker was closed");
    for (const detach of this.detach) detach();
    this.listeners.clear();
  }

  private onOpenOrder(
    orderId: number,
    contract: Contract,
    order: Order,
    state: IbOrderState,
  ): void {
    if (order.clientId !== this.connection.clientId) return;
    // A what-if answer is never a working order.
    if (order.whatIf || this.whatIfs.has(orderId)) return this.onWhatIfAnswer(orderId, state);
    let tracked = this.tracked.get(orderId);
    if (!tracked) {
      // A working order this client id placed before a restart: follow it too.
      if (IB_FINAL.has(state.status)) return;
      const view = brokerOrderFromOpenOrder(
        { orderId, contract, order, orderState: state },
        order.clientId,
      );
      const description = `${order.action} ${order.totalQuantity} ${contract.symbol} for ${order.account}`;
      tracked = this.track(orderId, description, view);
    }
    tracked.confirmed = true;
    this.setIbStatus(tracked, state.status);
    this.changed(tracked);
  }

  private onOrderStatus(
    orderId: number,
    status: string,
    filled: number,
    averagePrice: number,
    clientId?: number,
  ): void {
    if (clientId !== undefined && clientId !== this.connection.clientId) return;
    const tracked = this.tracked.get(orderId);
    if (!tracked) return;
    tracked.confirmed = true;
    this.setIbStatus(tracked, status);
    tracked.statusFilled = Math.max(tracked.statusFilled, filled ?? 0);
    if (filled >= tracked.statusFilled) tracked.statusAveragePrice = averagePrice ?? 0;
    this.changed(tracked);
  }

  private onExecution(contract: Contract, execution: Execution): void {
    if (execution.clientId !== this.connection.clientId) return;
    const execId = execution.execId;
    if (!execId) return;
    let tracked = this.tracked.get(execution.orderId ?? 0);
    if (!tracked && (execution.orderId ?? 0) > 0) {
      // An order this client id placed before a restart, no longer open (open orders are read
      // first): its executions are all TWS tells of it, and a resumed run must not place it again.
      const view = brokerOrderFromExecution(contract, execution);
      tracked = this.track(
        execution.orderId!,
        `${execution.side} ${contract.symbol} for ${execution.acctNumber}`,
        view,
      );
      tracked.fromExecutions = true;
    }
    if (!tracked || tracked.executions.has(execId)) return;
    if (tracked.fromExecutions) {
      const quantity = Math.max(tracked.view.quantity, execution.cumQty ?? 0);
      tracked.view = { ...tracked.view, quantity };
    }
    const fill = fillFromExecution(tracked.view.orderId, contract, execution, new Date());
    tracked.confirmed = true;
    tracked.executions.set(execId, fill);
    const order = this.refresh(tracked);
    this.log.info(
      { orderId: order.orderId, shares: fill.quantity, price: fill.price },
      `fill of ${tracked.what}`,
    );
    this.emit({ kind: "fill", fill, order: { ...order } });
    this.changed(tracked);
  }

  // The order's state comes from IB's status; an error code ends an order only when it is on the
  // reject list and answers the placeOrder (TWS has not confirmed the order yet). See
  // shared/facts/ib-order-messages.md: unknown codes (10349 and whatever TWS adds next) are warnings.
  private onError(reqId: number, code: number, message: string): void {
    const whatIf = this.whatIfs.get(reqId);
    if (whatIf) return this.onWhatIfError(reqId, whatIf, code, message);
    const tracked = this.tracked.get(reqId);
    if (!tracked) return;
    tracked.confirmed = true;
    const informational =
      this.options.informationalCodes.includes(code) || isIbWarning(code, message);
    if (!informational && code === 202) {
      // "Order Canceled - reason:" usually with no reason after it.
      tracked.message ||= /reason:\s*(.+)$/s.exec(message)?.[1].trim() ?? "";
      this.setIbStatus(tracked, "Cancelled");
      this.changed(tracked);
    } else if (!informational && ORDER_REJECT_CODES.has(code) && tracked.ack) {
      tracked.rejected = true;
      tracked.message = rejectionReason(message);
      this.log.warn({ orderId: reqId, code }, `${tracked.what} rejected: ${tracked.message}`);
      clearTimeout(tracked.ack.timer);
      tracked.ack.reject(brokerErrorFromIb(code, message, tracked.what));
      tracked.ack = undefined;
      this.changed(tracked);
    } else {
      // The order goes on: record what IB said, stream it, and ask IB where the order stands.
      this.log.warn({ orderId: reqId, code }, `${tracked.what}: ${message} (IB ${code})`);
      tracked.warnings.push(`IB ${code}: ${message}`);
      this.refresh(tracked);
      this.emit({ kind: "status", order: { ...tracked.view } });
      if (!informational || REQUEST_REFUSED_CODES.has(code)) this.requeryStatus();
    }
  }

  // IB may answer a what-if twice: first with only a warningText and unset margins, then with
  // the figures (erdewit/ib_insync #380); the answer is the one with initMarginChange set.
  private onWhatIfAnswer(orderId: number, state: IbOrderState): void {
    const pending = this.whatIfs.get(orderId);
    if (!pending) return;
    const warning = state.warningText?.trim();
    if (warning && !pending.warnings.includes(warning)) pending.warnings.push(warning);
    if (state.initMarginChange === undefined || !Number.isFinite(state.initMarginChange)) return;
    const money = (value: number | undefined) =>
      value !== undefined && Number.isFinite(value) ? value : 0;
    this.settleWhatIf(orderId, pending, {
      accepted: true,
      reason: "",
      brokerCode: 0,
      initialMarginChange: money(state.initMarginChange),
      maintenanceMarginChange: money(state.maintMarginChange),
      equityWithLoanChange: money(state.equityWithLoanChange),
      commission: money(state.commission),
      commissionCurrency: state.commissionCurrency ?? "",
      warnings: [...pending.warnings],
    });
  }

  private onWhatIfError(orderId: number, pending: PendingWhatIf, code: number, text: string) {
    const informational = this.options.informationalCodes.includes(code) || isIbWarning(code, text);
    if (informational || !ORDER_REJECT_CODES.has(code)) {
      pending.warnings.push(`IB ${code}: ${text}`);
      return;
    }
    this.log.info({ orderId, code }, `${pending.what} refused: ${text}`);
    this.settleWhatIf(orderId, pending, {
      accepted: false,
      reason: rejectionReason(text),
      brokerCode: code,
      initialMarginChange: 0,
      maintenanceMarginChange: 0,
      equityWithLoanChange: 0,
      commission: 0,
      commissionCurrency: "",
      warnings: [...pending.warnings],
    });
  }

  private settleWhatIf(orderId: number, pending: PendingWhatIf, check: PreflightCheck): void {
    clearTimeout(pending.timer);
    this.whatIfs.delete(orderId);
    pending.resolve(check);
  }

  private failWhatIfs(reason: string): void {
    for (const [orderId, pending] of this.whatIfs) {
      clearTimeout(pending.timer);
      pending.reject(new BrokerError("unavailable", `${pending.what}: ${reason}`));
      this.whatIfs.delete(orderId);
    }
  }

  /** Order ids only grow: above every id used, nextValidId and the configured base. */
  private nextOrderId(): number {
    this.lastOrderId = Math.max(
      this.lastOrderId + 1,
      this.connection.nextValidOrderId,
      this.options.orderIdBase,
    );
    return this.lastOrderId;
  }

  /** Asks TWS to resend the status of this client's open orders (answers arrive as events). */
  private requeryStatus(): void {
    if (!this.connection.health().connected) return;
    guarded(this.log, "order status re-query", () => this.connection.api.reqOpenOrders());
  }

  /**
   * The broker's view of one run: waits (up to connectTimeoutMs) for a session, reads executions
   * and open orders afresh, and returns the run's orders with their executions.
   */
  async runActivity(accountId: string, runId: string, since: Date): Promise<RunActivity> {
    await this.connection.ready();
    await this.accounts.assertKnown(accountId);
    await this.bringUpToDate(since);
    // An order TWS never confirmed and does not hold was never placed: it is not the run's.
    const own = [...this.tracked.values()].filter(
      (t) => t.view.runId === runId && t.view.accountId === accountId && t.confirmed,
    );
    return {
      orders: own.map((t) => ({ ...this.refresh(t) })),
      fills: own.flatMap((t) => [...t.executions.values()].map((f) => ({ ...f }))),
    };
  }

  /** After a (re)connect: fetch what happened to working orders while we were away. */
  private async reconcile(): Promise<void> {
    const working = [...this.tracked.values()].filter((t) => !isTerminal(t.view.status));
    if (working.length === 0) return;
    const since = new Date(Math.min(...working.map((t) => t.seenAt.getTime())));
    try {
      await this.bringUpToDate(since);
    } catch (error) {
      this.log.warn({ err: error }, "could not bring orders up to date after a reconnect");
    }
  }

  /**
   * Asks TWS for this client's executions since `since` and for every open order; what was missed
   * arrives through the event handlers above (executions de-duplicated by id). A working order no
   * longer open at IB and not filled by its executions was cancelled meanwhile.
   */
  private async bringUpToDate(since: Date): Promise<void> {
    const next = this.connection.next;
    const clientId = this.connection.clientId;
    // Open orders first: an order still working is followed from its open order, so that its
    // earlier executions (asked for next) attach to it, even in a process started since. An
    // order placed once the list was asked for (another run's, on this broker) may be missing
    // from it: only orders known before `asked` are judged by their absence.
    const { open, asked } = await this.allOpenOrders("open orders");
    // Ten minutes early: our clock and IB's may differ; only our own orders' executions count.
    const time = ibUtcTime(new Date(since.getTime() - 600_000));
    await this.connection.request(
      "executions",
      defer(() => next.getExecutionDetails({ clientId: String(clientId), time })),
    );
    const stillOpen = new Set(
      open.filter((o) => o.order.clientId === clientId).map((o) => o.orderId),
    );
    for (const tracked of this.tracked.values()) {
      if (isTerminal(tracked.view.status) || tracked.ack || tracked.seenAt.getTime() >= asked) {
        continue;
      }
      if (stillOpen.has(tracked.ibOrderId) || isTerminal(this.refresh(tracked).status)) continue;
      if (!tracked.confirmed) {
        // Sent into a dead link: IB neither holds it nor executed it, so it never existed.
        this.log.warn({ orderId: tracked.ibOrderId }, `${tracked.what} never reached TWS`);
        this.tracked.delete(tracked.ibOrderId);
        continue;
      }
      tracked.message ||= "no longer open at IB after a reconnect";
      this.setIbStatus(tracked, "Cancelled");
      this.changed(tracked);
    }
  }

  /**
   * Every open order at TWS, asked afresh, one request at a time: the library hands a request
   * still in flight to later callers, whose list would then predate orders they placed before
   * asking. Resolves with the list and when it was asked (ms).
   */
  private allOpenOrders(what: string): Promise<{ open: OpenOrder[]; asked: number }> {
    const request = this.openOrdersTail.then(async () => {
      const asked = Date.now();
      const open = await this.connection.request(
        what,
        defer(() => this.connection.next.getAllOpenOrders()),
      );
      return { open, asked };
    });
    this.openOrdersTail = request.catch(() => undefined);
    return request;
  }

  private failPendingAcks(reason: string): void {
    for (const tracked of this.tracked.values()) {
      if (!tracked.ack) continue;
      clearTimeout(tracked.ack.timer);
      const text = `${tracked.what}: ${reason} before TWS confirmed it; check open orders before placing it again`;
      tracked.ack.reject(new BrokerError("unavailable", text, false));
      tracked.ack = undefined;
    }
  }

  private track(ibOrderId: number, description: string, view: BrokerOrder): TrackedOrder {
    const tracked: TrackedOrder = {
      ibOrderId,
      what: `${description} (order ${ibOrderId})`,
      view,
      statusFilled: 0,
      statusAveragePrice: 0,
      executions: new Map(),
      seenAt: new Date(),
      rejected: false,
      confirmed: false,
      message: "",
      warnings: [],
    };
    this.tracked.set(ibOrderId, tracked);
    return tracked;
  }

  /** IB may repeat an older status after a final one; keep the final one. */
  private setIbStatus(tracked: TrackedOrder, status: string | undefined): void {
    if (status && !IB_FINAL.has(tracked.ibStatus ?? "")) tracked.ibStatus = status;
  }

  private refresh(tracked: TrackedOrder): BrokerOrder {
    let shares = 0;
    let value = 0;
    for (const execution of tracked.executions.values()) {
      shares += execution.quantity;
      value += execution.quantity * execution.price;
    }
    const filled = Math.max(tracked.statusFilled, shares);
    const useStatus = tracked.statusFilled >= shares && tracked.statusAveragePrice > 0;
    const { quantity } = tracked.view;
    tracked.view = {
      ...tracked.view,
      status: orderStateFrom(tracked.ibStatus, filled, quantity, tracked.rejected),
      filledQuantity: filled,
      averageFillPrice: useStatus ? tracked.statusAveragePrice : shares > 0 ? value / shares : 0,
      message: tracked.message,
      ...(tracked.warnings.length > 0 ? { warnings: [...tracked.warnings] } : {}),
    };
    return tracked.view;
  }

  /** Confirms a waiting placeOrder and sends a status event when status or fill changed. */
  private changed(tracked: TrackedOrder): void {
    const order = this.refresh(tracked);
    if (tracked.ack && !tracked.rejected) {
      clearTimeout(tracked.ack.timer);
      tracked.ack.resolve({ ...order });
      tracked.ack = undefined;
    }
    const key = `${order.status}|${order.filledQuantity}`;
    if (key === tracked.lastEmitted) return;
    tracked.lastEmitted = key;
    this.log.debug(
      { orderId: order.orderId, status: order.status, filled: order.filledQuantity },
      tracked.what,
    );
    this.emit({ kind: "status", order: { ...order } });
  }

  private emit(event: OrderEvent): void {
    for (const listener of this.listeners)
      guarded(this.log, "order event listener", () => listener(event));
  }
}

/** "yyyymmdd-hh:mm:ss", the UTC form of an execution filter's time. */
function ibUtcTime(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19)}`;
}

function assertValid(request: OrderRequest, description: string): void {
  const problems: string[] = [];
  if (!Number.isInteger(request.quantity) || request.quantity <= 0) {
    problems.push("quantity must be a whole number of shares above 0");
  }
  if (
    request.orderType === "limit" &&
    !(typeof request.limitPrice === "number" && request.limitPrice > 0)
  ) {
    problems.push("a limit order needs a limitPrice above 0");
  }
  if (problems.length > 0) {
    throw new BrokerError("order_rejected", `order ${description}: ${problems.join("; ")}`, false);
  }
}
