// Durable runs as processes: the rebalancer (rebalancer/src/main.ts) is stopped mid-run, by a
// SIGTERM whose grace period is shorter than the run or by a SIGKILL, and started again on the
// same data directory: the run is resumed under its run id, a request with its idempotency key
// follows it to its outcome, and its record equals the broker (the persistent simulated broker,
// or the TWS test server through the IBKR adapter).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { freePort } from "@mesh/platform/testing/free-port";
import { until } from "@mesh/platform/testing/until";
import {
  ExecutionMode,
  OrderStatus,
  RebalancerService,
  ResumeCause,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { openSimStore } from "../src/broker/sim/sim-store.js";
import {
  recordAndServer,
  startTwsScenario,
  writeTwsAccounts,
} from "./support/rebalancer-against-tws.js";
import type { TwsServer } from "./tws/tws-server.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The rebalancer as a process, restartable on the same environment. */
function rebalancerProcess(env: Record<string, string>) {
  let stdout = "";
  const start = async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: "info",
        LOG_FORMAT: "json",
        METRICS_PORT: "0",
        ...env,
      },
    });
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stdout += chunk));
    const exited = once(child, "exit").then(([code]) => code as number | null);
    await until(
      () =>
        fetch(`http://127.0.0.1:${env.API_PORT}/health`).then(
          (res) => res.ok,
          () => false,
        ),
      60_000,
      "the rebalancer serving",
    );
    return { child, exited };
  };
  return { start, logs: () => stdout };
}

/** Every event of a live run of `accountId` with this key, until the stream ends (or breaks). */
async function rebalance(
  client: Client<typeof RebalancerService>,
  accountId: string,
  idempotencyKey: string,
  seen: RebalanceResponse[] = [],
): Promise<RebalanceResponse[]> {
  try {
    for await (const event of client.rebalance({
      accountId,
      mode: ExecutionMode.LIVE,
      idempotencyKey,
    })) {
      seen.push(event);
    }
  } catch {
    // The process went away mid-stream: what arrived is what the caller saw.
  }
  return seen;
}

/** The last event's case and message, for an assertion's message. */
const said = (events: RebalanceResponse[]) => {
  const last = events.at(-1)?.event;
  const value = last?.value as { message?: string } | undefined;
  return `${last?.case}: ${value?.message ?? ""}`;
};

const resumedOf = (events: RebalanceResponse[]) => {
  const found = events.find((e) => e.event.case === "resumed")?.event;
  return found?.case === "resumed" ? found.value : undefined;
};

/** One order per symbol and side: what a resumed run must never break. */
function sameSymbolAndSideTwice(lines: string[]): string[] {
  return lines.filter((line, i) => lines.indexOf(line) !== i);
}

describe("durable runs, as processes", function () {
  this.timeout(120_000);

  it("SIGTERM with a grace period shorter than the run: hands it over, exits 75, and the next start resumes it to the end", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "durable-"));
    const port = await freePort();
    const rebalancer = rebalancerProcess({
      API_PORT: String(port),
      DATA_DIR: dataDir,
      SIM_FILL_DELAY_MS: "1500",
      SIM_FILL_PARTS: "2",
      SHUTDOWN_GRACE_SECONDS: "1",
    });
    const client = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
    );
    const first = await rebalancer.start();
    const seen: RebalanceResponse[] = [];
    const following = rebalance(client, "DU1000001", "handover-1", seen);
    await until(() => seen.some((e) => e.event.case === "orderSubmitted"), 30_000, "a sell placed");
    const runId = seen[0]!.runId;
    first.child.kill("SIGTERM");
    expect(await first.exited).to.equal(75);
    await following;
    expect(seen.map((e) => e.event.case)).not.to.include.oneOf(["completed", "failed"]);
    const handover = rebalancer
      .logs()
      .split("\n")
      .filter((line) => line.includes("handed over"))
      .map((line) => JSON.parse(line) as { msg: string; handedOver?: string[] });
    expect(handover.map((line) => line.handedOver)).to.deep.include([runId]);

    const second = await rebalancer.start();
    try {
      const events = await rebalance(client, "DU1000001", "handover-1");
      expect(events[0]!.runId).to.equal(runId);
      expect(events.at(-1)!.event.case, said(events)).to.equal("completed");
      expect(resumedOf(events)?.cause).to.equal(ResumeCause.HANDED_OVER);
      expect(events.some((e) => e.event.case === "suspended")).to.equal(true);
      const { run } = await client.getRun({ runId });
      expect(run?.suspended).to.equal(undefined);
      expect(run?.resumptions).to.have.length(1);
      second.child.kill("SIGTERM");
      expect(await second.exited).to.equal(0);

      // The record equals the simulated broker's ledger, order by order.
      const sim = openSimStore(join(dataDir, "sim-ledger.sqlite"));
      const ledger = sim.orders("DU1000001").filter((o) => o.order.runId === runId);
      sim.close();
      const line = (id: string, symbol: string, side: string, status: string, filled: number) =>
        `${id} ${side} ${symbol} ${status} ${filled}`;
      expect(
        run!.orders
          .map((o) =>
            line(
              o.orderId,
              o.symbol,
              o.side === 1 ? "buy" : "sell",
              OrderStatus[o.status].toLowerCase(),
              o.filledQuantity,
            ),
          )
          .sort(),
      ).to.deep.equal(
        ledger
          .map(({ order: o }) => line(o.orderId, o.symbol, o.side, o.status, o.filledQuantity))
          .sort(),
      );
      expect(
        sameSymbolAndSideTwice(ledger.map(({ order: o }) => `${o.side} ${o.symbol}`)),
      ).to.deep.equal([]);
    } finally {
      second.child.kill("SIGKILL");
    }
  });

  describe("with the IBKR adapter against the TWS test server", () => {
    let tws: TwsServer | undefined;
    afterEach(() => tws?.close());

    it("SIGKILL mid-sell: the next start adopts the run's orders from TWS by orderRef, buys once every sell filled, and its record equals the server", async () => {
      tws = await startTwsScenario({ fillIntervalMs: 400 });
      const dir = mkdtempSync(join(tmpdir(), "durable-ibkr-"));
      const port = await freePort();
      const rebalancer = rebalancerProcess({
        API_PORT: String(port),
        DATA_DIR: dir,
        ACCOUNTS_FILE: writeTwsAccounts(dir),
        BROKER: "ibkr",
        IBKR_HOST: "127.0.0.1",
        IBKR_PORT: String(tws.port),
        IBKR_CLIENT_ID: "7",
        ORDER_FILL_TIMEOUT_SECONDS: "20",
      });
      const client = createClient(
        RebalancerService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
      );
      const first = await rebalancer.start();
      const seen: RebalanceResponse[] = [];
      const following = rebalance(client, "DU111111", "kill-1", seen);
      const market = tws.market;
      await until(
        () =>
          seen.length > 0 &&
          market.orders.some(
            (o) => o.orderRef === seen[0]!.runId && o.action === "SELL" && o.filled < o.quantity,
          ),
        30_000,
        "a sell working at TWS",
        10,
      );
      const runId = seen[0]!.runId;
      first.child.kill("SIGKILL");
      await first.exited;
      await following;
      expect(market.orders.filter((o) => o.action === "BUY")).to.deep.equal([]);

      const second = await rebalancer.start();
      try {
        const events = await rebalance(client, "DU111111", "kill-1");
        expect(events[0]!.runId).to.equal(runId);
        expect(events.at(-1)!.event.case, said(events)).to.equal("completed");
        expect(resumedOf(events)?.cause).to.equal(ResumeCause.PROCESS_STOPPED);
        const own = market.orders.filter((o) => o.orderRef === runId);
        expect(sameSymbolAndSideTwice(own.map((o) => `${o.action} ${o.symbol}`))).to.deep.equal([]);
        // No buy executed before every sell had.
        const executions = market.executions.filter((e) => e.order.orderRef === runId);
        const lastSell = executions.findLastIndex((e) => e.order.action === "SELL");
        const firstBuy = executions.findIndex((e) => e.order.action === "BUY");
        expect(firstBuy).to.be.greaterThan(lastSell);
        const { run } = await client.getRun({ runId });
        const { record, server } = recordAndServer(run as Run, market);
        expect(record).to.deep.equal(server);
      } finally {
        second.child.kill("SIGKILL");
        await second.exited;
      }
    });
  });
});
