// The what-if preflight on the simulated broker: an ira account that refuses some symbols, and
// funds held back from trading, through the whole service (gRPC client to the broker's books).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  FailureReason,
  RebalancerService,
  RunStatus,
  type Plan,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../app.js";
import { createSimBroker, retirementRefusal, type SimBroker } from "../broker/sim/sim-broker.js";
import type { SimState } from "../broker/sim/sim-state.js";

const state: SimState = {
  currency: "USD",
  prices: { SPXL: 170, SPY: 600, TLT: 90 },
  iraRestrictedSymbols: ["SPXL"],
  accounts: [
    {
      accountId: "DU9",
      type: "ira",
      cash: 1_000,
      holdings: [{ symbol: "TLT", quantity: 100, averageCost: 80 }],
    },
    {
      accountId: "DU8",
      cash: 1_000,
      unsettledCash: 900,
      holdings: [{ symbol: "TLT", quantity: 100, averageCost: 80 }],
    },
  ],
};

describe("the what-if preflight on the simulated broker", () => {
  let app: RunningRebalancer;
  let broker: SimBroker;
  let client: Client<typeof RebalancerService>;

  async function start(accounts: string) {
    const dir = mkdtempSync(join(tmpdir(), "preflight-sim-"));
    writeFileSync(
      join(dir, "lev.yaml"),
      "allocations:\n  - { symbol: SPXL, allocation: 0.5 }\n  - { symbol: TLT, allocation: 0.5 }\n",
    );
    writeFileSync(
      join(dir, "spy.yaml"),
      "allocations:\n  - { symbol: SPY, allocation: 0.5 }\n  - { symbol: TLT, allocation: 0.5 }\n",
    );
    writeFileSync(
      join(dir, "accounts.yaml"),
      "defaults: { allocation_url: 'file:{strategy}.yaml', min_order_value: 50 }\n" +
        "replacement_sets:\n  ira: [{ source: SPXL, target: SPY, scale: 1 }]\n" +
        `accounts:\n${accounts}`,
    );
    broker = createSimBroker({ state, fillDelayMs: 1 });
    app = await startRebalancer({ accountsFile: join(dir, "accounts.yaml"), dataDir: dir, broker });
    client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  }

  afterEach(() => app.close(1_000));

  async function run(accountId: string, mode: ExecutionMode): Promise<RebalanceResponse[]> {
    const events: RebalanceResponse[] = [];
    const idempotencyKey = `sim-preflight-${Date.now()}-${Math.random()}`;
    for await (const event of client.rebalance({ accountId, mode, idempotencyKey })) {
      events.push(event);
    }
    return events;
  }
  const planOf = (events: RebalanceResponse[]): Plan => {
    const ready = events.find((e) => e.event.case === "plan")!.event;
    if (ready.case !== "plan") throw new Error("no plan event");
    return ready.value.plan!;
  };

  it("stops an ira account's run before any sell when a buy is not permitted, suggesting a replacement set", async () => {
    await start("  - { account_id: DU9, type: paper, strategy: lev }\n");
    const events = await run("DU9", ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.PREFLIGHT_REFUSED);
    expect(final.value.message)
      .to.match(/buy of \d+ SPXL: SPXL: this product is not permitted in retirement/)
      .and.contain("give DU9 a replacement set in accounts.yaml");
    expect(final.value.message).not.to.contain("sell of");
    // The books are as they were: nothing sold, nothing working.
    expect(broker.snapshot().accounts.find((a) => a.accountId === "DU9")).to.deep.equal(
      state.accounts[0],
    );
    expect(await broker.openOrders("DU9")).to.deep.equal([]);
  });

  it("says in a dry run which order would be refused, and why", async () => {
    await start("  - { account_id: DU9, type: paper, strategy: lev }\n");
    const events = await run("DU9", ExecutionMode.DRY_RUN);
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("completed");
    if (final.case !== "completed") return;
    expect(final.value.message).to.contain("a live run would stop").and.contain("SPXL");
    const plan = planOf(events);
    expect(plan.warnings).to.satisfy((w: string[]) =>
      w.some((line) => line.includes("SPXL would be refused by the broker")),
    );
    const results = plan.preflight!.results.map((r) => [r.symbol, r.accepted, r.reason]);
    expect(results).to.deep.equal([
      ["TLT", true, ""],
      ["SPXL", false, retirementRefusal("SPXL")],
    ]);
  });

  it("trades the ira account once its replacement set swaps the refused symbol", async () => {
    await start("  - { account_id: DU9, type: paper, strategy: lev, replacement_set: ira }\n");
    const events = await run("DU9", ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    expect(planOf(events).preflight!.results.every((r) => r.accepted)).to.equal(true);
    const held = broker.snapshot().accounts.find((a) => a.accountId === "DU9")!.holdings;
    expect(held.map((h) => h.symbol))
      .to.include("SPY")
      .and.not.include("SPXL");
  });

  it("with preflight: off, sells first and then has the buy refused: what the preflight prevents", async () => {
    await start("  - { account_id: DU9, type: paper, strategy: lev, preflight: off }\n");
    const events = await run("DU9", ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.ORDER_REJECTED);
    const tlt = broker.snapshot().accounts.find((a) => a.accountId === "DU9")!.holdings;
    expect(tlt.find((h) => h.symbol === "TLT")!.quantity).to.be.lessThan(100);
  });

  it("scales the buys to the funds available for trading before placing them", async () => {
    await start("  - { account_id: DU8, type: paper, strategy: spy }\n");
    const events = await run("DU8", ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    if (final.case !== "completed") return;
    expect(final.value.status).to.equal(RunStatus.COMPLETED);
    const preflight = planOf(events).preflight!;
    expect(preflight.buysScaled).to.equal(true);
    // 1,000 cash of which 900 unsettled, plus what the TLT sell frees.
    expect(preflight.availableFunds).to.equal(100);
    const spent = final.value.orders
      .filter((o) => o.symbol === "SPY")
      .reduce((sum, o) => sum + o.filledQuantity * o.averageFillPrice, 0);
    expect(spent).to.be.greaterThan(0).and.at.most(preflight.fundsForBuys);
  });

  it("without the preflight, the same buys are refused by the broker after the sells", async () => {
    await start("  - { account_id: DU8, type: paper, strategy: spy, preflight: off }\n");
    const events = await run("DU8", ExecutionMode.LIVE);
    const final = events.at(-1)!.event;
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.ORDER_REJECTED);
    expect(final.value.message).to.contain("insufficient buying power");
  });
});
