// Replicas as processes: PostgreSQL (a throwaway cluster), the TWS test server as its own
// process, and two rebalancers (rebalancer/src/main.ts) on one DATABASE_URL, each connected to
// the server with its own client id (IBKR_CLIENT_ID, and REPLICA_ORDINAL naming it). Shows the per-account
// lease across replicas (many concurrent live calls, one run at the broker) and the takeover of
// a SIGKILLed replica's run by the other, within the lease bound, to a balanced account whose
// record equals the broker.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { freePort } from "@mesh/platform/testing/free-port";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import {
  ExecutionMode,
  RebalancerService,
  ResumeCause,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { recordAndServer, writeTwsAccounts } from "./support/rebalancer-against-tws.js";
import { startRebalancerProcess, type RebalancerProcess } from "./support/rebalancer-process.js";
import { startTwsServerProcess, type TwsServerProcess } from "./support/tws-server-process.js";
import type { TwsServerState } from "./support/tws-server-state.js";

const account = "DU111111";
/** The scenario's targets (writeTwsAccounts); the rest is cash. */
const targets: Record<string, number> = { QQQ: 0.4, BND: 0.3, SPY: 0.25 };
const leaseSeconds = 4;
const clientBase = 20;

type RebalancerClient = Client<typeof RebalancerService>;

/** Every event of a live run with this key, until the stream ends or breaks. */
async function rebalance(
  client: RebalancerClient,
  idempotencyKey: string,
  seen: RebalanceResponse[] = [],
): Promise<RebalanceResponse[]> {
  try {
    for await (const event of client.rebalance({
      accountId: account,
      mode: ExecutionMode.LIVE,
      idempotencyKey,
    })) {
      seen.push(event);
    }
  } catch (err) {
    // Its replica went away mid-stream: what arrived is what the caller saw.
    if (seen.length === 0 && err instanceof ConnectError && err.code === Code.Aborted) throw err;
  }
  return seen;
}

const said = (events: RebalanceResponse[]) => {
  const last = events.at(-1)?.event;
  return `${last?.case}: ${(last?.value as { message?: string } | undefined)?.message ?? ""}`;
};

/** Lines "SELL SPY" seen more than once: a symbol ordered twice on one side. */
function orderedTwice(state: TwsServerState, runId: string): string[] {
  const lines = state.orders
    .filter((o) => o.orderRef === runId)
    .map((o) => `${o.action} ${o.symbol}`);
  return lines.filter((line, i) => lines.indexOf(line) !== i);
}

/** How far each holding is from its target, in shares' worth: balanced is within one share. */
function offTarget(state: TwsServerState): string[] {
  const held = state.accounts.find((a) => a.accountId === account)!;
  const off: string[] = [];
  for (const [symbol, quantity] of Object.entries(held.positions)) {
    if (quantity !== 0 && targets[symbol] === undefined)
      off.push(`${symbol}: ${quantity} held, no target`);
  }
  for (const [symbol, weight] of Object.entries(targets)) {
    const price = state.prices[symbol]!;
    const value = (held.positions[symbol] ?? 0) * price;
    const target = weight * held.netLiquidation;
    if (Math.abs(value - target) > price + 0.01 * held.netLiquidation) {
      off.push(`${symbol}: ${value.toFixed(0)} held, target ${target.toFixed(0)}`);
    }
  }
  return off;
}

describe("rebalancer replicas on PostgreSQL, as processes", function () {
  this.timeout(150_000);
  let postgres: TestPostgres;
  let tws: TwsServerProcess | undefined;
  let replicas: RebalancerProcess[] = [];
  before(async () => {
    postgres = await startTestPostgres();
  });
  after(() => postgres.stop());
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.kill()));
    replicas = [];
    await tws?.stop();
  });

  /** The TWS server process and two replicas on a fresh database; replica i has client id base+i. */
  async function startMesh(twsEnv: Record<string, string>) {
    tws = await startTwsServerProcess(twsEnv);
    const databaseUrl = await postgres.createDatabase();
    const dir = mkdtempSync(join(tmpdir(), "replicas-"));
    const accountsFile = writeTwsAccounts(dir);
    const env = async (ordinal: number) => ({
      API_PORT: String(await freePort()),
      DATA_DIR: join(dir, `replica-${ordinal}`),
      ACCOUNTS_FILE: accountsFile,
      DATABASE_URL: databaseUrl,
      REPLICA_ORDINAL: String(ordinal),
      ACCOUNT_LEASE_SECONDS: String(leaseSeconds),
      BROKER: "ibkr",
      IBKR_HOST: "127.0.0.1",
      IBKR_PORT: String(tws!.port),
      IBKR_CLIENT_ID: String(clientBase + ordinal),
      ORDER_FILL_TIMEOUT_SECONDS: "30",
      // Short, for the handover case; a run still going after it is handed over.
      SHUTDOWN_GRACE_SECONDS: "1",
    });
    replicas = await Promise.all([0, 1].map(async (i) => startRebalancerProcess(await env(i))));
    const clients = replicas.map((r) =>
      createClient(
        RebalancerService,
        createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }),
      ),
    );
    return { clients, tws };
  }

  it("20 concurrent live calls with one key, spread over both replicas: one run at the broker, every caller sees it complete", async () => {
    const { clients, tws } = await startMesh({ TWS_FILL_INTERVAL_MS: "50" });
    expect((await tws.state()).clientIds.sort()).to.deep.equal([clientBase, clientBase + 1]);
    const calls = Array.from({ length: 20 }, (_, i) => rebalance(clients[i % 2]!, "one-key"));
    const streams = await Promise.all(calls);
    const runIds = new Set(streams.map((events) => events[0]?.runId));
    expect(runIds.size, "one run for every caller").to.equal(1);
    for (const events of streams)
      expect(events.at(-1)?.event.case, said(events)).to.equal("completed");
    const [runId] = [...runIds] as [string];
    const state = await tws.state();
    expect(new Set(state.orders.map((o) => o.orderRef))).to.deep.equal(new Set([runId]));
    expect(orderedTwice(state, runId)).to.deep.equal([]);
    const { run } = await clients[1]!.getRun({ runId });
    const { record, server } = recordAndServer(run as Run, state);
    expect(record).to.deep.equal(server);
    expect(offTarget(state)).to.deep.equal([]);
  });

  it("SIGKILL of the replica running a run: the other takes it over within the lease bound as the same client id, and the account ends balanced, record equal to the broker", async () => {
    const { clients, tws } = await startMesh({ TWS_FILL_INTERVAL_MS: "600" });
    const seen: RebalanceResponse[] = [];
    const following = rebalance(clients[0]!, "kill-1", seen);
    await until(
      async () => {
        if (seen.length === 0) return false;
        const state = await tws.state();
        return state.orders.some(
          (o) => o.orderRef === seen[0]!.runId && o.action === "SELL" && o.filled < o.quantity,
        );
      },
      30_000,
      "a sell working at TWS",
      20,
    );
    const runId = seen[0]!.runId;
    // Another key on the other replica while the run goes on: refused as busy, as on one replica.
    const busy = await rebalance(clients[1]!, "another-key").then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(busy).to.be.instanceOf(ConnectError);
    expect((busy as ConnectError).code).to.equal(Code.Aborted);
    expect((busy as ConnectError).rawMessage).to.contain(`busy with run ${runId}`);
    await replicas[0]!.kill();
    const killedAt = Date.now();
    await following;
    expect((await tws.state()).orders.filter((o) => o.action === "BUY")).to.deep.equal([]);

    // The survivor's takeover scan finds the run once the dead replica's lease expired.
    const taken = await until(
      async () => {
        const { run } = await clients[1]!.getRun({ runId });
        return (run?.resumptions.length ?? 0) > 0 ? Date.now() : undefined;
      },
      30_000,
      "the run taken over",
      100,
    );
    const takeoverMs = taken - killedAt;
    console.log(`      takeover ${takeoverMs} ms after the SIGKILL (lease ${leaseSeconds} s)`);
    // The lease, a third of it for the scan, and a second to connect and record.
    expect(takeoverMs).to.be.lessThan(((leaseSeconds * 4) / 3) * 1000 + 2000);

    const events = await rebalance(clients[1]!, "kill-1");
    expect(events[0]!.runId).to.equal(runId);
    expect(events.at(-1)!.event.case, said(events)).to.equal("completed");
    const resumed = events.find((e) => e.event.case === "resumed")?.event;
    expect(resumed?.case === "resumed" && resumed.value.cause).to.equal(
      ResumeCause.PROCESS_STOPPED,
    );

    const state = await tws.state();
    expect(orderedTwice(state, runId)).to.deep.equal([]);
    // Every order of the run went through the dead replica's client id: no order was left
    // unwatched or placed twice by another client.
    expect(new Set(state.orders.map((o) => o.clientId))).to.deep.equal(new Set([clientBase]));
    const executions = state.executions.filter((e) => e.order.orderRef === runId);
    const lastSell = executions.findLastIndex((e) => e.order.action === "SELL");
    const firstBuy = executions.findIndex((e) => e.order.action === "BUY");
    expect(firstBuy, "no buy before every sell executed").to.be.greaterThan(lastSell);
    const { run } = await clients[1]!.getRun({ runId });
    const { record, server } = recordAndServer(run as Run, state);
    expect(record).to.deep.equal(server);
    expect(offTarget(state)).to.deep.equal([]);
  });

  it("SIGTERM of the replica running a run: it hands the run over (exit 75) and the other resumes it at once, without waiting for the lease", async () => {
    const { clients, tws } = await startMesh({ TWS_FILL_INTERVAL_MS: "600" });
    const seen: RebalanceResponse[] = [];
    const following = rebalance(clients[0]!, "term-1", seen);
    await until(
      async () =>
        seen.length > 0 &&
        (await tws.state()).orders.some(
          (o) => o.orderRef === seen[0]!.runId && o.action === "SELL" && o.filled < o.quantity,
        ),
      30_000,
      "a sell working at TWS",
      20,
    );
    const runId = seen[0]!.runId;
    replicas[0]!.child.kill("SIGTERM");
    expect(await replicas[0]!.exited).to.equal(75);
    const stoppedAt = Date.now();
    await following;
    expect(seen.map((e) => e.event.case)).not.to.include.oneOf(["completed", "failed"]);

    const events = await rebalance(clients[1]!, "term-1");
    const resumedAt = Date.now();
    expect(events[0]!.runId).to.equal(runId);
    expect(events.at(-1)!.event.case, said(events)).to.equal("completed");
    const resumed = events.find((e) => e.event.case === "resumed")?.event;
    expect(resumed?.case === "resumed" && resumed.value.cause).to.equal(ResumeCause.HANDED_OVER);
    expect(events.some((e) => e.event.case === "suspended")).to.equal(true);
    const { run } = await clients[1]!.getRun({ runId });
    const took = run!.resumptions[0]!.time;
    const takenMs = Number(took!.seconds) * 1000 + took!.nanos / 1e6 - stoppedAt;
    console.log(`      resumed ${Math.round(takenMs)} ms after the exit (lease ${leaseSeconds} s)`);
    expect(takenMs, "released, not left to expire").to.be.lessThan(leaseSeconds * 1000);
    expect(resumedAt).to.be.greaterThan(stoppedAt);
    const state = await tws.state();
    expect(orderedTwice(state, runId)).to.deep.equal([]);
    const { record, server } = recordAndServer(run as Run, state);
    expect(record).to.deep.equal(server);
    expect(offTarget(state)).to.deep.equal([]);
  });
});
