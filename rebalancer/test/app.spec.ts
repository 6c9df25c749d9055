import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  OrderSide,
  OrderStatus,
  RebalancerService,
  RunStatus,
  RunView,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createSimBroker } from "../src/broker/sim/sim-broker.js";

const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

async function collect(
  stream: AsyncIterable<RebalanceResponse>,
  events: RebalanceResponse[] = [],
): Promise<RebalanceResponse[]> {
  for await (const event of stream) events.push(event);
  return events;
}

describe("the rebalancer on its embedded defaults", () => {
  let dataDir: string;
  let app: RunningRebalancer;
  let grpc: Client<typeof RebalancerService>;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "rebalancer-"));
    app = await startRebalancer({
      accountsFile,
      dataDir,
      broker: createSimBroker({ fillDelayMs: 5 }),
    });
    grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  });
  afterEach(() => app.close(1_000));

  it("previews over REST in the seed's shape and places nothing", async () => {
    const res = await fetch(`${app.url}/rebalance/DU1000001/dry-run`, { method: "POST" });
    expect(res.status).to.equal(200);
    const body = (await res.json()) as Record<string, unknown> & { orders: { action: string }[] };
    expect(body).to.include({
      account_id: "DU1000001",
      execution_mode: "dry_run",
      status: "completed",
    });
    expect(body.orders.map((o) => o.action)).to.include.members(["SELL", "BUY"]);
    expect((await grpc.listOpenOrders({ accountId: "DU1000001" })).orders).to.deep.equal([]);
    const positions = await grpc.getPositions({ accountId: "DU1000001" });
    expect(positions.positions.map((p) => p.symbol)).to.include("AAPL");
  });

  it("streams a paper run over gRPC in order, and a repeated key replays it without new orders", async () => {
    const request = {
      accountId: "DU1000002",
      mode: ExecutionMode.LIVE,
      idempotencyKey: "evt-1:DU1000002",
    };
    const events = await collect(grpc.rebalance(request));
    expect(events.map((e) => e.sequence)).to.deep.equal(events.map((_, i) => i + 1));
    expect(events[0]!.event.case).to.equal("accepted");
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("completed");
    const sold = events.some(
      (e) => e.event.case === "orderFilled" && e.event.value.fill?.side === OrderSide.SELL,
    );
    expect(sold).to.equal(true);

    const before = await grpc.getPositions({ accountId: "DU1000002" });
    const connect = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }),
    );
    const again = await collect(connect.rebalance(request));
    expect(again.map((e) => e.runId)).to.deep.equal(events.map((e) => e.runId));
    expect(again.every((e) => e.replayed)).to.equal(true);
    const after = await grpc.getPositions({ accountId: "DU1000002" });
    expect(after.positions.map((p) => [p.symbol, p.quantity])).to.deep.equal(
      before.positions.map((p) => [p.symbol, p.quantity]),
    );
    const runs = await grpc.listRuns({ accountId: "DU1000002" });
    expect(runs.runs.map((r) => r.status)).to.deep.equal([RunStatus.COMPLETED]);
  });

  it("answers an account's targets after its replacement set, over REST, recording no run", async () => {
    const res = await fetch(`${app.url}/accounts/DU1000002/targets`);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as {
      strategy: string;
      targets: { symbol: string; weight: number }[];
      cash_reserve_percent: number;
    };
    expect(body.strategy).to.equal("etf-blend-200-35");
    const symbols = body.targets.map((t) => t.symbol);
    expect(symbols).to.include.members(["VXX", "PDBC"]);
    expect(symbols).not.to.include("UVXY");
    expect(body.targets.reduce((sum, t) => sum + t.weight, 0)).to.be.at.most(1.005);
    expect((await grpc.listRuns({ accountId: "DU1000002" })).runs).to.deep.equal([]);
    const missing = await fetch(`${app.url}/accounts/NOPE/targets`);
    expect(missing.status).to.equal(404);
  });

  it("keeps its runs across a restart", async () => {
    const events = await collect(grpc.rebalance({ accountId: "DU1000001" }));
    await app.close(1_000);
    app = await startRebalancer({ accountsFile, dataDir });
    grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    const { run } = await grpc.getRun({ runId: events[0]!.runId });
    expect(run?.mode).to.equal(ExecutionMode.DRY_RUN);
    expect(run?.status).to.equal(RunStatus.COMPLETED);
    expect(run?.plan?.orders.length).to.be.greaterThan(0);
  });

  it("lets a running rebalance finish when it is stopped", async () => {
    await app.close(1_000);
    app = await startRebalancer({
      accountsFile,
      dataDir,
      broker: createSimBroker({ fillDelayMs: 150 }),
    });
    grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    const seen: RebalanceResponse[] = [];
    const running = collect(
      grpc.rebalance({ accountId: "DU1000001", mode: ExecutionMode.LIVE }),
      seen,
    );
    // Stop while an order waits for its fill (150 ms): the run is under way.
    await until(() => seen.some((e) => e.event.case === "orderSubmitted"), 5000, "an order placed");
    await app.close(10_000);
    const events = await running;
    expect(events.at(-1)!.event.case).to.equal("completed");
  });

  /** Whether every number in a JSON value has at most `places` decimals. */
  function roundedTo(json: unknown, places: number, key = ""): string[] {
    if (typeof json === "number") {
      return Number(json.toFixed(places)) === json ? [] : [`${key}=${json}`];
    }
    if (json === null || typeof json !== "object") return [];
    return Object.entries(json).flatMap(([k, v]) => roundedTo(v, places, k));
  }

  it("sends weights rounded to 6 places and money to cents, on REST and Connect alike", async () => {
    // The ira replacement set scales the strategy's weights (x1.5, x3): float noise to round.
    const targets = await (await fetch(`${app.url}/accounts/DU1000002/targets`)).json();
    expect(roundedTo(targets, 6)).to.deep.equal([]);
    await collect(grpc.rebalance({ accountId: "DU1000002" }));
    const [summary] = (await grpc.listRuns({ accountId: "DU1000002" })).runs;
    const rest = (await (await fetch(`${app.url}/runs/${summary!.runId}`)).json()) as {
      run: { plan: { weights: object[] } };
    };
    const { weights } = rest.run.plan as { weights: object[] };
    expect(roundedTo(weights, 6)).to.deep.equal([]);
    const cents = ["cash", "net_liquidation", "projected_cash", "reserved_cash", "market_value"];
    const money = (json: unknown, key = ""): number[] =>
      typeof json === "number"
        ? cents.includes(key)
          ? [json]
          : []
        : json && typeof json === "object"
          ? Object.entries(json).flatMap(([k, v]) => money(v, k))
          : [];
    const amounts = money(rest);
    expect(amounts.length).to.be.greaterThan(5);
    expect(amounts.filter((a) => Math.round(a * 100) / 100 !== a)).to.deep.equal([]);
  });

  it("lists runs as summaries with their counts, a page at a time, the full record on asking", async () => {
    for (let i = 0; i < 4; i++) await collect(grpc.rebalance({ accountId: "DU1000001" }));
    const live = await collect(
      grpc.rebalance({ accountId: "DU1000001", mode: ExecutionMode.LIVE }),
    );
    const first = await grpc.listRuns({ accountId: "DU1000001", limit: 2 });
    expect(first.runs).to.have.length(2);
    expect(first.nextPageToken).not.to.equal("");
    // A summary: what a history shows, without the plan, orders, fills, targets and holdings.
    const dryRun = first.runs[1]!;
    expect(dryRun.mode).to.equal(ExecutionMode.DRY_RUN);
    expect(dryRun.counts!.plannedOrders).to.be.greaterThan(0);
    expect(dryRun.counts!.placedOrders).to.equal(0);
    expect([dryRun.plan, dryRun.orders, dryRun.targets, dryRun.holdings]).to.deep.equal([
      undefined,
      [],
      [],
      [],
    ]);
    const second = await grpc.listRuns({
      accountId: "DU1000001",
      limit: 2,
      pageToken: first.nextPageToken,
    });
    const third = await grpc.listRuns({
      accountId: "DU1000001",
      limit: 2,
      pageToken: second.nextPageToken,
    });
    expect(third.nextPageToken).to.equal("");
    const ids = [...first.runs, ...second.runs, ...third.runs].map((r) => r.runId);
    expect(new Set(ids).size).to.equal(5);
    expect(ids[0]).to.equal(live[0]!.runId);
    const liveSummary = first.runs[0]!;
    const { run } = await grpc.getRun({ runId: live[0]!.runId });
    expect(liveSummary.counts).to.deep.equal(run!.counts);
    expect(run!.counts!.placedOrders).to.equal(run!.orders.length);
    expect(run!.counts!.filledOrders).to.equal(
      run!.orders.filter((o) => o.status === OrderStatus.FILLED).length,
    );
    const full = await grpc.listRuns({ accountId: "DU1000001", limit: 1, view: RunView.FULL });
    expect(full.runs[0]!.plan?.orders.length).to.be.greaterThan(0);
    // Over REST the summary page is a small fraction of the full one.
    const restSummaries = await fetch(`${app.url}/accounts/DU1000001/runs`);
    const restFull = await fetch(`${app.url}/accounts/DU1000001/runs?view=full`);
    const [small, large] = [await restSummaries.text(), await restFull.text()];
    expect(small.length * 3).to.be.lessThan(large.length);
    const page = JSON.parse(small) as {
      runs: { status: string; mode: string }[];
      next_page_token: string;
    };
    expect(page.runs[1]).to.include({ status: "completed", mode: "dry_run" });
    const bad = await fetch(`${app.url}/accounts/DU1000002/runs?page_token=${first.nextPageToken}`);
    expect(bad.status).to.equal(400);
  });

  it("records cash before, after the sells and after the run, and the protocol of a tool's run", async () => {
    const live = await collect(
      grpc.rebalance({ accountId: "DU1000002", mode: ExecutionMode.LIVE }),
    );
    const { run } = await grpc.getRun({ runId: live[0]!.runId });
    const plan = live.find((e) => e.event.case === "plan")!.event;
    expect(plan.case === "plan" && plan.value.cash).to.equal(run!.cash);
    expect(run!.cashAfterSells).to.be.a("number").and.not.equal(run!.cash);
    expect(run!.cashAfterRun).to.be.a("number");
    expect(run!.trigger?.source).to.equal("grpc");
    const connect = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }),
    );
    const dry = await collect(connect.rebalance({ accountId: "DU1000002" }));
    const dryRun = (await grpc.getRun({ runId: dry[0]!.runId })).run!;
    expect(dryRun.trigger?.source).to.equal("connect");
    expect(dryRun.cashAfterSells).to.equal(undefined);
    expect(dryRun.cashAfterRun).to.equal(undefined);
    const rest = await fetch(`${app.url}/rebalance/DU1000002/dry-run`, { method: "POST" });
    const { run_id } = (await rest.json()) as { run_id: string };
    expect((await grpc.getRun({ runId: run_id })).run!.trigger?.source).to.equal("rest");
  });
});
