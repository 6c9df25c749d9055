import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  OrderSide,
  RebalancerService,
  RunStatus,
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
});
