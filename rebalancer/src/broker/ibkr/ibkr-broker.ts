// The Broker port on Interactive Brokers (TWS / IB Gateway) through @stoqey/ib.

import type { Broker } from "../broker.js";
import { IbkrAccounts } from "./ibkr-accounts.js";
import { resolveIbkrBrokerOptions, type IbkrBrokerOptions } from "./ibkr-broker-options.js";
import { IbkrConnection, type IbkrLog } from "./ibkr-connection.js";
import { IbkrContracts } from "./ibkr-contracts.js";
import { IbkrMarketData } from "./ibkr-market-data.js";
import { IbkrOrders } from "./ibkr-orders.js";

export type { IbkrBrokerOptions } from "./ibkr-broker-options.js";

/** The Broker port plus what only IBKR has. */
export interface IbkrBroker extends Broker {
  /** Resolves once connected (nextValidId received); rejects with unavailable after connectTimeoutMs. */
  ready(): Promise<void>;
  /** IB's global cancel: every open order of every account of the login, whoever placed it. */
  cancelAllOrders(): Promise<void>;
}

const silent: IbkrLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Connects (and keeps reconnecting) to TWS / IB Gateway; call ready() before the first request. */
export function createIbkrBroker(options: IbkrBrokerOptions): IbkrBroker {
  const resolved = resolveIbkrBrokerOptions(options);
  const log: IbkrLog = options.logger?.child({ broker: "ibkr" }) ?? silent;
  // Half a second's worth of requests in flight keeps the library's send queue short, so time
  // spent queued does not eat into per-request timeouts (and TWS's market data lines suffice).
  const concurrency = Math.max(1, Math.floor(resolved.maxRequestsPerSecond / 2));
  const connection = new IbkrConnection(resolved, log);
  const contracts = new IbkrContracts(connection, concurrency, log);
  const accounts = new IbkrAccounts(connection, resolved.accountIds, log);
  const marketData = new IbkrMarketData(connection, contracts, { ...resolved, concurrency }, log);
  const orders = new IbkrOrders(
    connection,
    contracts,
    accounts,
    { ...resolved, whatIfConcurrency: concurrency },
    log,
  );
  connection.start();
  return {
    name: "ibkr",
    ready: () => connection.ready(),
    health: () => connection.health(),
    holdings: (accountId) => accounts.holdings(accountId),
    accountValues: (accountId) => accounts.accountValues(accountId),
    quotes: (symbols) => marketData.quotes(symbols),
    sessions: (symbols, at, extended) => contracts.sessions(symbols, at, extended),
    openOrders: (accountId) => orders.open(accountId),
    preflight: (request) => orders.whatIf(request),
    placeOrder: (request) => orders.place(request),
    cancelOrder: (orderId) => orders.cancel(orderId),
    cancelAllOrders: () => orders.cancelAll(),
    runActivity: (accountId, runId, since) => orders.runActivity(accountId, runId, since),
    onOrderEvent: (listener) => orders.onOrderEvent(listener),
    async close() {
      orders.close();
      connection.close();
    },
  };
}
