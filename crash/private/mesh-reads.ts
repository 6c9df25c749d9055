// What the crash test reads from the running mesh, through its public APIs only: the rebalancer's
// Connect API (ListRuns, GetRun, ListOpenOrders) and REST dry run, the subscriber's GET /status.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  OrderSide,
  OrderStatus,
  RebalancerService,
  RunStatus,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";

/** Reads of the mesh under test. */
export interface MeshReads {
  /** The account's live runs, newest first, in full (GetRun); at most 500. */
  liveRuns(accountId: string): Promise<Run[]>;
  /** Whether a run was made for the event on the account (its trigger names the event). */
  hasRun(accountId: string, eventId: string): Promise<boolean>;
  /** A live run in progress with an order of `side` working at the broker, if any. */
  workingRun(accountIds: string[], side: "sell" | "buy"): Promise<Run | undefined>;
  /** Whether any live run is in progress. */
  anyRunning(accountIds: string[]): Promise<boolean>;
  /** Orders working at the broker for the account. */
  openOrders(accountId: string): Promise<number>;
  /** The orders a dry run would place now, as "SELL 3 QQQ". */
  dryRun(accountId: string): Promise<string[]>;
  /** The subscriber's inbox entries by state (pending, in_flight, done, dead, rejected). */
  inbox(): Promise<Record<string, number>>;
}

const working = new Set([
  OrderStatus.PENDING_SUBMIT,
  OrderStatus.SUBMITTED,
  OrderStatus.PARTIALLY_FILLED,
]);

export function createMeshReads(rebalancerUrl: string, subscriberUrl: string): MeshReads {
  const client = createClient(
    RebalancerService,
    createConnectTransport({ baseUrl: rebalancerUrl, httpVersion: "1.1" }),
  );
  const timeoutMs = 5000;
  const runs = async (accountId: string, limit: number) =>
    (await client.listRuns({ accountId, limit }, { timeoutMs })).runs.filter(
      (r) => r.mode === ExecutionMode.LIVE,
    );
  const full = async (run: Run) =>
    (await client.getRun({ runId: run.runId }, { timeoutMs })).run ?? run;
  const running = async (accountIds: string[]) =>
    (await Promise.all(accountIds.map((id) => runs(id, 3))))
      .flat()
      .filter((r) => r.status === RunStatus.RUNNING);

  return {
    liveRuns: async (accountId) => Promise.all((await runs(accountId, 500)).map(full)),
    hasRun: async (accountId, eventId) =>
      (await runs(accountId, 20)).some((r) => r.trigger?.eventId === eventId),
    workingRun: async (accountIds, side) => {
      const wanted = side === "sell" ? OrderSide.SELL : OrderSide.BUY;
      for (const run of await running(accountIds)) {
        const record = await full(run);
        if (record.orders.some((o) => o.side === wanted && working.has(o.status))) return record;
      }
      return undefined;
    },
    anyRunning: async (accountIds) => (await running(accountIds)).length > 0,
    openOrders: async (accountId) =>
      (await client.listOpenOrders({ accountId }, { timeoutMs })).orders.length,
    dryRun: async (accountId) => {
      const res = await fetch(`${rebalancerUrl}/rebalance/${accountId}/dry-run`, {
        method: "POST",
        signal: AbortSignal.timeout(30_000),
      });
      if (!res.ok)
        throw new Error(`dry run of ${accountId}: HTTP ${res.status} ${await res.text()}`);
      const body = (await res.json()) as {
        orders: { symbol: string; quantity: number; action: string }[];
      };
      return body.orders.map((o) => `${o.action} ${o.quantity} ${o.symbol}`);
    },
    inbox: async () => {
      const res = await fetch(`${subscriberUrl}/status`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      return ((await res.json()) as { inbox: Record<string, number> }).inbox;
    },
  };
}
