// The rebalancer with the IBKR adapter against a fresh TWS test server: one account (cash, SPY
// and VTI) whose plan sells SPY and VTI and buys QQQ and BND, markets open around the clock, and
// helpers to run it live and to put its record next to the server's orders and executions.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonValue } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  GetRunResponseSchema,
  OrderStatus,
  RebalancerService,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import {
  startRebalancer,
  type RebalancerAppOptions,
  type RunningRebalancer,
} from "../../src/app.js";
import {
  createIbkrBroker,
  type IbkrBroker,
  type IbkrBrokerOptions,
} from "../../src/broker/ibkr/ibkr-broker.js";
import type { ForeignOpenOrders } from "../../src/execution/execution-deps.js";
import { fromRestResponseJson } from "../../src/server/rest-response-json.js";
import { decodingErrors, testBrokerOptions, type LogRecord } from "../tws/ibkr-against-tws.js";
import type { AccountSpec, InstrumentSpec, TwsExecution, TwsOrder } from "../tws/tws-market.js";
import { startTwsServer, type TwsServer, type TwsServerOptions } from "../tws/tws-server.js";

/** Open around the clock for the week around now, so a run is never postponed. */
function alwaysOpen(): string {
  const day = (n: number) =>
    new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
  const days: string[] = [];
  for (let offset = -2; offset <= 6; offset++) {
    days.push(`${day(offset)}:0000-${day(offset + 1)}:0000`);
  }
  return days.join(";");
}

/** The instruments of the scenario, markets open around the clock. */
export const twsInstruments: InstrumentSpec[] = [
  { symbol: "SPY", last: 500, bid: 499.9, ask: 500.1, close: 498 },
  { symbol: "VTI", last: 250, close: 249 },
  { symbol: "QQQ", bid: 439.9, ask: 440.1, close: 438, primaryExchange: "NASDAQ" },
  { symbol: "BND", close: 72.5, primaryExchange: "NASDAQ" },
  // Not in the plan: where another client's resting order may be left alone.
  { symbol: "IWM", last: 200, close: 199 },
].map((i) => ({ ...i, tradingHours: alwaysOpen(), liquidHours: alwaysOpen() }));

/** An account of the scenario: its cash, SPY and VTI. */
export function scenarioAccount(accountId = "DU111111"): AccountSpec {
  return {
    accountId,
    cash: 10_000,
    positions: {
      SPY: { quantity: 20, averageCost: 400 },
      VTI: { quantity: 10, averageCost: 200 },
    },
  };
}

/** The TWS test server with the scenario's account (cash, SPY and VTI) and instruments. */
export function startTwsScenario(server: TwsServerOptions = {}): Promise<TwsServer> {
  return startTwsServer({
    accounts: [scenarioAccount()],
    instruments: twsInstruments,
    fillParts: 2,
    ...server,
  });
}

/**
 * Writes the scenario's accounts.yaml (DU111111, or the given accounts; paper, strategy
 * test-blend) and its strategy's targets into `dir`.
 */
export function writeTwsAccounts(dir: string, accountIds: string[] = ["DU111111"]): string {
  writeFileSync(
    join(dir, "test-blend.yaml"),
    "allocations:\n  - { symbol: QQQ, allocation: 0.4 }\n  - { symbol: BND, allocation: 0.3 }\n" +
      "  - { symbol: SPY, allocation: 0.25 }\n",
  );
  const accountsFile = join(dir, "accounts.yaml");
  writeFileSync(
    accountsFile,
    "defaults: { allocation_url: 'file:{strategy}.yaml', min_order_value: 50 }\n" +
      "accounts:\n" +
      accountIds
        .map((id) => `  - { account_id: ${id}, type: paper, strategy: test-blend }\n`)
        .join(""),
  );
  return accountsFile;
}

export interface RebalancerAgainstTws {
  tws: TwsServer;
  broker: IbkrBroker;
  app: RunningRebalancer;
  client: Client<typeof RebalancerService>;
  logs: LogRecord[];
  /** A live run of DU111111 with this idempotency key, every event of its stream. */
  run(key: string): Promise<RebalanceResponse[]>;
  /** GET /runs/{id} over REST, as an operator reads it. */
  recordOf(runId: string): Promise<Run>;
  /** Closes the app (and broker) and the server; throws if the library met undecodable messages. */
  close(): Promise<void>;
}

export async function startRebalancerAgainstTws(
  server: TwsServerOptions,
  brokerOptions: Partial<IbkrBrokerOptions> = {},
  foreignOpenOrders?: ForeignOpenOrders,
  appOptions: Partial<RebalancerAppOptions> = {},
): Promise<RebalancerAgainstTws> {
  const tws = await startTwsScenario(server);
  const dir = mkdtempSync(join(tmpdir(), "ibkr-record-"));
  writeTwsAccounts(dir);
  const logs: LogRecord[] = [];
  const broker = createIbkrBroker({ ...testBrokerOptions(tws.port, logs), ...brokerOptions });
  await broker.ready();
  const app = await startRebalancer({
    accountsFile: join(dir, "accounts.yaml"),
    dataDir: dir,
    broker,
    fillTimeoutMs: 10_000,
    foreignOpenOrders,
    ...appOptions,
  });
  const client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  return {
    tws,
    broker,
    app,
    client,
    logs,
    async run(key) {
      const events: RebalanceResponse[] = [];
      for await (const event of client.rebalance({
        accountId: "DU111111",
        mode: ExecutionMode.LIVE,
        idempotencyKey: key,
      })) {
        events.push(event);
      }
      return events;
    },
    async recordOf(runId) {
      const response = await fetch(`${app.url}/runs/${runId}`);
      if (response.status !== 200) throw new Error(`GET /runs/${runId}: ${response.status}`);
      const json = (await response.json()) as JsonValue;
      return fromRestResponseJson(GetRunResponseSchema, json).run!;
    },
    async close() {
      await app.close(1_000); // closes the broker too
      await tws.close();
      const undecodable = decodingErrors(logs);
      if (undecodable.length > 0) throw new Error(`library decoding errors: ${undecodable}`);
    },
  };
}

/** IB's status words as the contract's, for an order at the server. */
function statusAtServer(status: string, filled: number): string {
  if (status === "Filled") return "FILLED";
  if (status === "Cancelled" || status === "ApiCancelled") return "CANCELLED";
  if (status === "PendingSubmit") return "PENDING_SUBMIT";
  return filled > 0 ? "PARTIALLY_FILLED" : "SUBMITTED";
}

/** The record's orders and fills next to the server's, in one comparable shape. */
export function recordAndServer(
  run: Run,
  market: { orders: readonly TwsOrder[]; executions: readonly Omit<TwsExecution, "time">[] },
) {
  const own = market.orders.filter((o) => o.orderRef === run.runId);
  const executions = market.executions.filter((e) => e.order.orderRef === run.runId);
  const order = (id: number | string, symbol: string, status: string, filled: number, of: number) =>
    `${id} ${symbol} ${status} ${filled}/${of}`;
  return {
    record: {
      orders: run.orders
        .map((o) => order(o.orderId, o.symbol, OrderStatus[o.status], o.filledQuantity, o.quantity))
        .sort(),
      fills: run.fills.map((f) => `${f.executionId} ${f.orderId} ${f.quantity}@${f.price}`).sort(),
    },
    server: {
      orders: own
        .map((o) =>
          order(o.orderId, o.symbol, statusAtServer(o.status, o.filled), o.filled, o.quantity),
        )
        .sort(),
      fills: executions.map((e) => `${e.execId} ${e.order.orderId} ${e.shares}@${e.price}`).sort(),
    },
  };
}
