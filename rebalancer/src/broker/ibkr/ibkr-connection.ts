// The connection to TWS / IB Gateway: one IBApiNext, connected and reconnected by us (IBApiNext's
// own reconnect uses a fixed interval and changes the client id on every attempt). A session is
// "ready" once nextValidId arrived; requests are bounded by a timeout and by the session. A ready
// session is probed by a heartbeat: a socket that stays open while nothing flows (half-open) is
// declared lost within heartbeatIntervalMs + heartbeatTimeoutMs, and TCP keepalive is on.

import {
  ConnectionState,
  ErrorCode,
  EventName,
  IBApi,
  IBApiNext,
  MarketDataType,
  type Logger as LibraryLogger,
} from "@stoqey/ib";
import type { Logger } from "@mesh/platform/logger";
import {
  defer,
  firstValueFrom,
  map,
  Subject,
  takeUntil,
  throwError,
  timeout,
  type MonoTypeOperatorFunction,
  type Observable,
  type Subscription,
} from "rxjs";
import type { Socket } from "node:net";
import { BrokerError } from "../broker-error.js";
import type { BrokerHealth } from "../broker.js";
import type { ResolvedIbkrBrokerOptions } from "./ibkr-broker-options.js";
import { toBrokerError } from "./ibkr-errors.js";

/** The logging the adapter needs (a pino Logger has it). */
export type IbkrLog = Pick<Logger, "debug" | "info" | "warn" | "error">;

type Phase = "idle" | "connecting" | "ready" | "closed";

export class IbkrConnection {
  readonly next: IBApiNext;
  /** IBApiNext's underlying IBApi: the only live source of our orders' status and executions. */
  readonly api: IBApi;
  /** Emits when a session becomes ready (after every reconnect, too). */
  readonly sessionStarted = new Subject<void>();
  /** Emits when a ready session ends. */
  readonly sessionEnded = new Subject<void>();
  private phase: Phase = "idle";
  private currentClientId: number;
  private attempts = 0;
  private linkLossStreak = 0;
  private validOrderId = 0;
  private accounts: string[] = [];
  private problem = "";
  private clientIdRejected = false;
  private linkLost = false;
  /** Ready sessions that ended, and losses of TWS's link to IB (1100). */
  private interruptions = 0;
  private retryAt = 0;
  private retryTimer?: NodeJS.Timeout;
  private attemptTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  /** Pending heartbeat deadlines, and the session they belong to. */
  private readonly deadlines = new Set<NodeJS.Timeout>();
  private sessionCount = 0;
  /** When TWS last sent anything on the current socket. */
  private lastReceivedAt = 0;
  /** Set when the heartbeat declared the session silent, until the next session is ready. */
  private silent = false;
  private readonly readyWaiters = new Set<{ resolve(): void; reject(error: BrokerError): void }>();
  private readonly stateSubscription: Subscription;

  constructor(
    private readonly options: ResolvedIbkrBrokerOptions,
    private readonly log: IbkrLog,
  ) {
    this.currentClientId = options.clientId;
    this.next = new IBApiNext({
      host: options.host,
      port: options.port,
      reconnectInterval: 0,
      // The library paces in 100 ms slots of rate/10 messages, rounding the slot size up.
      maxReqPerSec: Math.max(10, Math.floor(options.maxRequestsPerSecond / 10) * 10),
      logger: libraryLogger(log),
    });
    this.api = underlyingApi(this.next);
    this.api.on(EventName.nextValidId, (orderId) => this.guard(() => this.onNextValidId(orderId)));
    this.api.on(
      EventName.managedAccounts,
      (list) => (this.accounts = list.split(",").filter(Boolean)),
    );
    this.api.on(EventName.info, (message, code) => this.guard(() => this.onInfo(code, message)));
    this.api.on(EventName.received, () => (this.lastReceivedAt = Date.now()));
    this.api.on(EventName.connected, () => this.guard(() => this.keepAlive()));
    this.api.on(EventName.error, (error, code, reqId) =>
      this.guard(() => this.onError(error, code, reqId)),
    );
    this.stateSubscription = this.next.connectionState.subscribe((state) => {
      if (state === ConnectionState.Disconnected) this.guard(() => this.onSocketClosed());
    });
  }

  get clientId(): number {
    return this.currentClientId;
  }

  /** The lowest order id TWS accepts from this client (from nextValidId). */
  get nextValidOrderId(): number {
    return this.validOrderId;
  }

  start(): void {
    if (this.phase === "idle") this.connectNow();
  }

  /** Resolves once a session is ready; rejects with unavailable after connectTimeoutMs. */
  ready(): Promise<void> {
    if (this.phase === "ready") return Promise.resolve();
    if (this.phase === "closed") return Promise.reject(this.closedError("ready"));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error: BrokerError) => (clearTimeout(timer), reject(error)),
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        const ms = this.options.connectTimeoutMs;
        reject(
          new BrokerError(
            "unavailable",
            `not connected to ${this.address} within ${ms} ms: ${this.health().detail}`,
          ),
        );
      }, this.options.connectTimeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  health(): BrokerHealth {
    const as = `${this.address} as client ${this.currentClientId}`;
    const interruptions = this.interruptions;
    if (this.phase === "closed")
      return { connected: false, detail: `closed (${as})`, interruptions };
    if (this.phase === "ready" && !this.linkLost)
      return { connected: true, detail: `connected to ${as}`, interruptions };
    const problem = this.problem || "not connected";
    if (this.phase === "idle" && this.retryTimer) {
      const seconds = Math.max(0, (this.retryAt - Date.now()) / 1000).toFixed(1);
      return {
        connected: false,
        detail: `${problem}; reconnecting to ${as} in ${seconds} s`,
        interruptions,
      };
    }
    return { connected: false, detail: `${problem}; connecting to ${as}`, interruptions };
  }

  /** The accounts the login manages (sent by TWS at connect; asked for when missing). */
  async managedAccounts(): Promise<string[]> {
    if (this.accounts.length === 0) {
      this.accounts = await this.request(
        "managed accounts",
        defer(() => this.next.getManagedAccounts()),
      );
    }
    return this.accounts;
  }

  /** Throws unavailable unless a session is ready. */
  assertReady(what: string): void {
    if (this.phase === "closed") throw this.closedError(what);
    if (this.phase !== "ready") {
      throw new BrokerError(
        "unavailable",
        `${what}: not connected to TWS (${this.health().detail})`,
      );
    }
  }

  /** Ends a stream with an unavailable error when the session ends. */
  whileSessionLasts<T>(what: string): MonoTypeOperatorFunction<T> {
    return takeUntil(
      this.sessionEnded.pipe(
        map(() => {
          throw new BrokerError("unavailable", `${what}: connection to TWS lost`);
        }),
      ),
    );
  }

  /** The first value of a request, bounded by `timeoutMs` and the session; errors as BrokerError. */
  async request<T>(
    what: string,
    source: Observable<T>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<T> {
    this.assertReady(what);
    const late = () =>
      new BrokerError("unavailable", `${what}: TWS did not answer within ${timeoutMs} ms`);
    try {
      return await firstValueFrom(
        source.pipe(
          timeout({ first: timeoutMs, with: () => throwError(late) }),
          this.whileSessionLasts(what),
        ),
      );
    } catch (error) {
      throw toBrokerError(error, what);
    }
  }

  close(): void {
    if (this.phase === "closed") return;
    const wasReady = this.phase === "ready";
    this.phase = "closed";
    this.stopHeartbeat();
    clearTimeout(this.retryTimer);
    clearTimeout(this.attemptTimer);
    this.stateSubscription.unsubscribe();
    for (const waiter of this.readyWaiters) waiter.reject(this.closedError("ready"));
    this.readyWaiters.clear();
    if (wasReady) this.sessionEnded.next();
    this.dropSocket();
    this.sessionStarted.complete();
    this.sessionEnded.complete();
  }

  /** "host:port", for messages. */
  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private connectNow(): void {
    this.retryTimer = undefined;
    if (this.phase === "closed") return;
    this.phase = "connecting";
    this.attemptTimer = setTimeout(
      () => this.guard(() => this.onAttemptTimeout()),
      this.options.connectTimeoutMs,
    );
    this.log.debug(
      { clientId: this.currentClientId, attempt: this.attempts },
      `connecting to ${this.address}`,
    );
    this.next.connect(this.currentClientId);
  }

  private scheduleConnect(): void {
    const { reconnectInitialDelayMs: initial, reconnectMaxDelayMs: max } = this.options;
    const exponent = Math.min(this.attempts++ + this.linkLossStreak, 30);
    const delay = Math.round(Math.min(max, initial * 2 ** exponent * (0.8 + Math.random() * 0.4)));
    clearTimeout(this.retryTimer);
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.guard(() => this.connectNow()), delay);
    this.log.info(
      { delayMs: delay, clientId: this.currentClientId },
      `reconnecting to ${this.address}: ${this.problem}`,
    );
  }

  private onNextValidId(orderId: number): void {
    this.validOrderId = Math.max(this.validOrderId, orderId);
    if (this.phase !== "connecting") return;
    clearTimeout(this.attemptTimer);
    this.phase = "ready";
    this.attempts = 0;
    this.problem = "";
    this.linkLost = false;
    this.silent = false;
    this.clientIdRejected = false;
    this.startHeartbeat();
    // Per connection: live data where subscribed, delayed (15 min) where not.
    this.next.setMarketDataType(MarketDataType.DELAYED);
    this.log.info(
      { clientId: this.currentClientId, nextValidId: orderId },
      `connected to ${this.address}`,
    );
    for (const waiter of this.readyWaiters) waiter.resolve();
    this.readyWaiters.clear();
    this.sessionStarted.next();
  }

  private onSocketClosed(): void {
    if (this.phase === "closed" || this.phase === "idle") return;
    clearTimeout(this.attemptTimer);
    this.stopHeartbeat();
    const wasReady = this.phase === "ready";
    if (wasReady && !this.linkLost) this.interruptions++;
    this.phase = "idle";
    if (this.clientIdRejected && this.options.onClientIdInUse === "next") {
      this.clientIdRejected = false;
      this.currentClientId++;
      this.attempts = 0;
      this.log.warn(
        `client id ${this.currentClientId - 1} is in use; trying client id ${this.currentClientId}`,
      );
    }
    if (wasReady) {
      if (!this.silent) this.problem = `connection to ${this.address} closed`;
      this.log.warn(this.problem);
      this.sessionEnded.next();
    }
    this.scheduleConnect();
  }

  private onAttemptTimeout(): void {
    if (this.phase !== "connecting") return;
    this.problem = `no API session with ${this.address} within ${this.options.connectTimeoutMs} ms`;
    this.dropSocket();
    // Dropping normally reports Disconnected (and schedules); make sure an attempt follows anyway.
    if (this.phase === "connecting") {
      this.phase = "idle";
      this.scheduleConnect();
    }
  }

  /**
   * Sends a probe every interval; a probe followed by no message at all for heartbeatTimeoutMs
   * ends the session. A link that dies just after an answer is caught by the next probe's deadline:
   * within interval + timeout.
   */
  private startHeartbeat(): void {
    this.stopHeartbeat();
    const { heartbeatIntervalMs: interval, heartbeatTimeoutMs: limit } = this.options;
    const session = ++this.sessionCount;
    const beat = () =>
      this.guard(() => {
        if (this.phase !== "ready" || session !== this.sessionCount) return;
        const sentAt = Date.now();
        this.api.reqCurrentTime();
        const deadline = setTimeout(
          () =>
            this.guard(() => {
              this.deadlines.delete(deadline);
              if (this.phase !== "ready" || session !== this.sessionCount) return;
              if (this.lastReceivedAt < sentAt) this.onSilence(Date.now() - this.lastReceivedAt);
            }),
          limit,
        );
        deadline.unref();
        this.deadlines.add(deadline);
      });
    this.heartbeatTimer = setInterval(beat, interval);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    for (const deadline of this.deadlines) clearTimeout(deadline);
    this.deadlines.clear();
  }

  /** Nothing arrived for too long on an open socket: treat the session as lost and reconnect. */
  private onSilence(quietMs: number): void {
    this.silent = true;
    this.problem = `no message from TWS at ${this.address} for ${quietMs} ms although the socket is open (heartbeat unanswered): link presumed half-open`;
    this.log.warn({ quietMs }, this.problem);
    this.dropSocket();
    // The library reports the drop asynchronously, if at all: end the session now.
    if (this.phase === "ready") this.onSocketClosed();
  }

  /** TCP keepalive on the library's socket, so a dead peer eventually errors the socket too. */
  private keepAlive(): void {
    const socket = (this.api as unknown as { controller?: { socket?: { client?: unknown } } })
      .controller?.socket?.client as Socket | undefined;
    if (typeof socket?.setKeepAlive !== "function") {
      this.log.warn("@stoqey/ib changed: cannot set TCP keepalive on its socket");
      return;
    }
    socket.setKeepAlive(true, this.options.keepAliveDelayMs);
  }

  private dropSocket(): void {
    const handshakeDone = this.api.isConnected;
    this.next.disconnect();
    // IBApiNext closes only sockets that finished the handshake; a pending connect needs IBApi's.
    if (!handshakeDone) IBApi.prototype.disconnect.call(this.api);
  }

  private onInfo(code: number, message: string): void {
    switch (code) {
      case 326:
        this.clientIdRejected = true;
        this.problem = `client id ${this.currentClientId} is already in use at ${this.address} (IB 326)`;
        this.log.warn({ code }, this.problem);
        return;
      case 1100:
      case 2110:
        // IBApiNext drops the socket on these; we reconnect with a growing delay until IB is back.
        if (!this.linkLost) this.interruptions++;
        this.linkLost = true;
        this.linkLossStreak++;
        this.problem = `TWS at ${this.address} lost its connection to IB (IB ${code})`;
        this.log.warn({ code }, message);
        return;
      case 1101:
      case 1102:
        this.linkLost = false;
        this.linkLossStreak = 0;
        this.log.info({ code }, message);
        return;
      case ErrorCode.NOT_CONNECTED:
        return;
      default:
        // 2104/2106/2158 and friends: data farm status.
        this.log.debug({ code }, message);
    }
  }

  private onError(error: Error, code: number, reqId: number): void {
    if (code === ErrorCode.CONNECT_FAIL) {
      this.problem = `cannot connect to ${this.address}: ${error.message}`;
      this.log.debug({ code }, this.problem);
    } else if (/^(Decoding error|Underrun error)/.test(error.message)) {
      this.log.error({ code, ibMessage: error.message }, "TWS message could not be decoded");
    } else {
      // Request and order errors reach whoever made the request; here they are only logged.
      this.log.debug({ code, reqId }, error.message);
    }
  }

  private closedError(what: string): BrokerError {
    return new BrokerError("unavailable", `${what}: the IBKR broker is closed`, false);
  }

  private guard(callback: () => void): void {
    guarded(this.log, "connection", callback);
  }
}

/** Library callbacks run inside socket handlers: an exception there would end the process. */
export function guarded(log: IbkrLog, what: string, callback: () => void): void {
  try {
    callback();
  } catch (error) {
    log.error({ err: error }, `IBKR ${what} handler failed`);
  }
}

function underlyingApi(next: IBApiNext): IBApi {
  const api = (next as unknown as { api?: unknown }).api;
  if (!(api instanceof IBApi))
    throw new Error("@stoqey/ib changed: IBApiNext has no underlying IBApi");
  return api;
}

function libraryLogger(log: IbkrLog): LibraryLogger {
  const text = (args: unknown[]) =>
    args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
  return {
    debug: (tag, ...args) => log.debug({ tag }, text(args)),
    info: (tag, ...args) => log.debug({ tag }, text(args)),
    warn: (tag, ...args) => log.warn({ tag }, text(args)),
    error: (tag, ...args) => log.warn({ tag }, text(args)),
  };
}
