import type { BrokerFill, BrokerOrder, RunActivity } from "../broker.js";
import type { SimAccount } from "./sim-state.js";
import type { SimOrder } from "./sim-order.js";
import { openSqlite } from "@mesh/platform/open-sqlite";

/**
 * Where the simulated broker keeps its ledger: each account's books, every order with its
 * progress and every execution. Every write is done before the broker answers or reports it, so
 * what it acknowledged survives a crash of the process.
 */
export interface SimStore {
  /** The accounts' books as last saved; empty for a new store. */
  accounts(): SimAccount[];
  /** Saves an account's books. */
  saveAccount(account: SimAccount): void;
  /** The largest order id ever given; 0 for a new store. */
  lastOrderId(): number;
  /** Saves an order as it now stands (placed, submitted, ended). */
  saveOrder(order: SimOrder): void;
  /** Books a fill in one transaction: the execution, the order's progress and the account's books. */
  saveFill(order: SimOrder, fill: BrokerFill, account: SimAccount): void;
  /** One order by its id; undefined when it was never placed. */
  order(orderId: string): SimOrder | undefined;
  /** Orders not yet filled, cancelled or rejected, oldest first. */
  workingOrders(): SimOrder[];
  /** Every order ever placed (of one account, when given), oldest first. */
  orders(accountId?: string): SimOrder[];
  /** Every execution (of one account, when given), oldest first. */
  executions(accountId?: string): BrokerFill[];
  /** A run's orders (by run id, IB's orderRef) and their executions since `since`. */
  runActivity(accountId: string, runId: string, since: Date): RunActivity;
  close(): void;
}

interface OrderRow {
  order_json: string;
  request_json: string;
  parts_json: string;
  fills: number;
  due_at: number | null;
}

interface ExecutionRow {
  fill_json: string;
}

const ended = `('filled', 'cancelled', 'rejected')`;

/**
 * Opens (creating when needed) the ledger in a SQLite file, or in memory for ":memory:". SQLite
 * rather than a JSON file rewritten on each change: a fill updates three things at once, and a
 * transaction makes that atomic without rewriting the whole ledger on every write.
 */
export function openSimStore(file: string): SimStore {
  // NORMAL survives a crash of the process (SIGKILL), which is what the simulation is for.
  const db = openSqlite(file, { synchronous: "NORMAL" });
  db.exec(`
    CREATE TABLE IF NOT EXISTS accounts (
      account_id TEXT PRIMARY KEY,
      books_json TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS orders (
      order_id INTEGER PRIMARY KEY,
      account_id TEXT NOT NULL,
      run_id TEXT NOT NULL,
      status TEXT NOT NULL,
      order_json TEXT NOT NULL,
      request_json TEXT NOT NULL,
      parts_json TEXT NOT NULL,
      fills INTEGER NOT NULL,
      due_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS orders_by_run ON orders (account_id, run_id);
    CREATE INDEX IF NOT EXISTS orders_working ON orders (status) WHERE status NOT IN ${ended};
    CREATE TABLE IF NOT EXISTS executions (
      execution_id TEXT PRIMARY KEY,
      order_id INTEGER NOT NULL,
      account_id TEXT NOT NULL,
      run_id TEXT NOT NULL,
      time INTEGER NOT NULL,
      fill_json TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS executions_by_run ON executions (account_id, run_id, time);
  `);

  const upsertAccount = db.prepare(
    `INSERT INTO accounts (account_id, books_json) VALUES (?, ?)
     ON CONFLICT (account_id) DO UPDATE SET books_json = excluded.books_json`,
  );
  const upsertOrder = db.prepare(
    `INSERT INTO orders (order_id, account_id, run_id, status, order_json, request_json, parts_json, fills, due_at)
     VALUES (@orderId, @accountId, @runId, @status, @order, @request, @parts, @fills, @dueAt)
     ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, order_json = excluded.order_json,
       fills = excluded.fills, due_at = excluded.due_at`,
  );
  const insertExecution = db.prepare(
    `INSERT INTO executions (execution_id, order_id, account_id, run_id, time, fill_json)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const columns = "order_json, request_json, parts_json, fills, due_at";
  const selectOrder = db.prepare<[number], OrderRow>(
    `SELECT ${columns} FROM orders WHERE order_id = ?`,
  );
  const selectWorking = db.prepare<[], OrderRow>(
    `SELECT ${columns} FROM orders WHERE status NOT IN ${ended} ORDER BY order_id`,
  );
  const selectOrders = db.prepare<[{ account: string | null }], OrderRow>(
    `SELECT ${columns} FROM orders WHERE @account IS NULL OR account_id = @account ORDER BY order_id`,
  );
  const selectRunOrders = db.prepare<[string, string], OrderRow>(
    `SELECT ${columns} FROM orders WHERE account_id = ? AND run_id = ? ORDER BY order_id`,
  );
  const selectExecutions = db.prepare<[{ account: string | null }], ExecutionRow>(
    `SELECT fill_json FROM executions WHERE @account IS NULL OR account_id = @account
     ORDER BY time, rowid`,
  );
  const selectRunExecutions = db.prepare<[string, string, number], ExecutionRow>(
    `SELECT fill_json FROM executions WHERE account_id = ? AND run_id = ? AND time >= ?
     ORDER BY time, rowid`,
  );

  const saveOrder = (o: SimOrder) =>
    upsertOrder.run({
      orderId: Number(o.order.orderId),
      accountId: o.order.accountId,
      runId: o.order.runId,
      status: o.order.status,
      order: JSON.stringify(o.order),
      request: JSON.stringify(o.request),
      parts: JSON.stringify(o.parts),
      fills: o.fills,
      dueAt: o.dueAt ?? null,
    });
  const saveFill = db.transaction((o: SimOrder, fill: BrokerFill, account: SimAccount) => {
    insertExecution.run(
      fill.executionId,
      Number(fill.orderId),
      fill.accountId,
      o.order.runId,
      fill.time.getTime(),
      JSON.stringify(fill),
    );
    saveOrder(o);
    upsertAccount.run(account.accountId, JSON.stringify(account));
  });

  return {
    accounts: () =>
      db
        .prepare<[], { books_json: string }>("SELECT books_json FROM accounts ORDER BY rowid")
        .all()
        .map((row) => JSON.parse(row.books_json) as SimAccount),
    saveAccount: (account) => void upsertAccount.run(account.accountId, JSON.stringify(account)),
    lastOrderId: () =>
      db.prepare<[], { last: number | null }>("SELECT MAX(order_id) AS last FROM orders").get()
        ?.last ?? 0,
    saveOrder: (o) => void saveOrder(o),
    saveFill: (o, fill, account) => saveFill(o, fill, account),
    order: (orderId) => {
      const id = Number(orderId);
      const row = Number.isSafeInteger(id) ? selectOrder.get(id) : undefined;
      return row && toOrder(row);
    },
    workingOrders: () => selectWorking.all().map(toOrder),
    orders: (accountId) => selectOrders.all({ account: accountId ?? null }).map(toOrder),
    executions: (accountId) => selectExecutions.all({ account: accountId ?? null }).map(toFill),
    runActivity: (accountId, runId, since) => ({
      orders: selectRunOrders.all(accountId, runId).map((row) => toOrder(row).order),
      fills: selectRunExecutions.all(accountId, runId, since.getTime()).map(toFill),
    }),
    close: () => db.close(),
  };
}

function toOrder(row: OrderRow): SimOrder {
  return {
    order: JSON.parse(row.order_json) as BrokerOrder,
    request: JSON.parse(row.request_json) as SimOrder["request"],
    parts: JSON.parse(row.parts_json) as number[],
    fills: row.fills,
    ...(row.due_at === null ? {} : { dueAt: row.due_at }),
  };
}

function toFill(row: ExecutionRow): BrokerFill {
  const fill = JSON.parse(row.fill_json) as Omit<BrokerFill, "time"> & { time: string };
  return { ...fill, time: new Date(fill.time) };
}
