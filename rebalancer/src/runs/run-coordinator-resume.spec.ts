// Durable runs in-process: a run stopped at a chosen moment (its events stop being recorded there,
// as when its process dies; the simulated broker carries on), then resumed by a coordinator over
// the same run store. Process-level crashes (SIGKILL) are in test/durable-runs.spec.ts.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAccounts, type Account } from "@mesh/platform/accounts";
import { createLogger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  FailureReason,
  OrderSide,
  OrderStatus,
  Phase,
  ResumeCause,
  RunStatus,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { createAccountGate } from "../accounts/account-gate.js";
import { createFileAllocations } from "../allocations/file-allocations.js";
import type { OrderRequest } from "../broker/broker.js";
import type { MarketHours } from "../broker/sim/market-hours.js";
import { createSimBroker, type SimBroker } from "../broker/sim/sim-broker.js";
import { executeRun } from "../execution/execute-run.js";
import type { ExecutionDeps } from "../execution/execution-deps.js";
import type { RunEvent } from "../execution/run-event.js";
import { createRunCoordinator, type RunCoordinator } from "./run-coordinator.js";
import { runProgressOf } from "./run-progress-of.js";
import { RunRecorder } from "./run-recorder.js";
import type { RunStore } from "./run-store.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

const root = new URL("../../../", import.meta.url).pathname;

function accounts(overrides = ""): Account[] {
  return parseAccounts(
    `
defaults:
  allocation_url: "file:rebalancer/allocations/{strategy}.yaml"
  min_order_value: 50
  drift_band_percent: 0.5
accounts:
  - { account_id: DU1000001, type: paper, strategy: etf-blend-301-20, cash_reserve_percent: 2${overrides} }
`,
    join(root, "accounts.yaml"),
  ).accounts;
}

/** A market the test opens and closes. */
function switchableMarket(): MarketHours & { open: boolean } {
  const market = {
    open: true,
    description: "switched by the test",
    session: (symbol: string) => ({ symbol, open: market.open }),
  };
  return market;
}

interface Harness {
  broker: SimBroker;
  store: RunStore;
  market: ReturnType<typeof switchableMarket>;
  placed: OrderRequest[];
  deps: ExecutionDeps;
  /** The clock runs and the broker see; `advance` moves it on. */
  advance(ms: number): void;
  /** A coordinator over the store and broker, as a process started afterwards would make one. */
  coordinator(configured?: Account[]): RunCoordinator;
}

function harness(fillDelayMs = 40): Harness {
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  const market = switchableMarket();
  const broker = createSimBroker({ fillDelayMs, fillParts: 2, now, marketHours: market });
  const placed: OrderRequest[] = [];
  const place = broker.placeOrder.bind(broker);
  broker.placeOrder = (request) => {
    placed.push(request);
    return place(request);
  };
  const store = createSqliteRunStore(join(mkdtempSync(join(tmpdir(), "resume-")), "runs.sqlite"));
  const deps: ExecutionDeps = {
    broker,
    allocations: createFileAllocations(),
    now,
    cancelTimeoutMs: 500,
    fillTimeoutMs: 5_000,
    settleTimeoutMs: 1_000,
  };
  return {
    broker,
    store,
    market,
    placed,
    deps,
    advance: (ms) => (offset += ms),
    coordinator: (configured = accounts()) =>
      createRunCoordinator({
        store,
        gate: createAccountGate({ accounts: configured, tradingMode: "paper" }),
        logger: createLogger({ name: "test", level: "silent" }),
        execution: deps,
      }),
  };
}

/**
 * A live run of DU1000001 whose process "stops" when `stopAt` first says so: that event and all
 * after it are never recorded (the run's own code goes on failing to record, placing nothing
 * more, waiting for nothing), while the broker carries on. Resolves with the run's id and
 * idempotency key.
 */
async function runUntilStopped(
  h: Harness,
  stopAt: (event: RunEvent) => boolean,
): Promise<{ runId: string; key: string }> {
  const account = accounts()[0]!;
  const key = `stopped-${Math.random()}`;
  const header = {
    runId: `run-${key}`,
    accountId: account.accountId,
    live: true,
    idempotencyKey: key,
    trigger: { source: "test", eventId: "", channel: "", caller: "" },
    createdAt: h.deps.now(),
  };
  const recorder = RunRecorder.accept(h.store, header);
  await recorder.begin();
  let stopped = false;
  // Once stopped, the run's own code also stops waiting (as a dead process does).
  const dead = new AbortController();
  await executeRun({
    deps: h.deps,
    account,
    runId: header.runId,
    startedAt: header.createdAt,
    live: true,
    record: async (event) => {
      stopped ||= stopAt(event);
      if (stopped) {
        dead.abort();
        throw new Error("the process stopped");
      }
      return recorder.record(event);
    },
    progress: () => runProgressOf(recorder.state),
    handover: dead.signal,
  }).catch(() => undefined);
  expect(stopped, "the run reached the moment to stop").to.equal(true);
  return { runId: header.runId, key };
}

/** Follows a run by its idempotency key, as a retried request does, to its final event. */
async function follow(coordinator: RunCoordinator, key: string): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  const stream = await coordinator.start({
    accountId: "DU1000001",
    mode: ExecutionMode.LIVE,
    idempotencyKey: key,
    waitIfBusy: false,
  });
  for await (const event of stream) events.push(event);
  return events;
}

/** The run's orders as recorded next to the broker's, as "id symbol side status filled/quantity". */
async function recordAndBroker(h: Harness, run: Run) {
  const activity = await h.broker.runActivity("DU1000001", run.runId, new Date(0));
  const line = (id: string, symbol: string, side: string, status: string, f: number, q: number) =>
    `${id} ${symbol} ${side} ${status} ${f}/${q}`;
  return {
    record: {
      orders: run.orders
        .map((o) =>
          line(
            o.orderId,
            o.symbol,
            OrderSide[o.side].toLowerCase(),
            OrderStatus[o.status].toLowerCase(),
            o.filledQuantity,
            o.quantity,
          ),
        )
        .sort(),
      fills: run.fills.map((f) => f.executionId).sort(),
    },
    broker: {
      orders: activity.orders
        .map((o) => line(o.orderId, o.symbol, o.side, o.status, o.filledQuantity, o.quantity))
        .sort(),
      fills: activity.fills.map((f) => f.executionId).sort(),
    },
  };
}

const sell = (e: RunEvent) => "order" in e && e.order.side === "sell";
const buy = (e: RunEvent) => "order" in e && e.order.side === "buy";
const resumedOf = (events: RebalanceResponse[]) => {
  const found = events.find((e) => e.event.case === "resumed")?.event;
  return found?.case === "resumed" ? found.value : undefined;
};
const finalOf = (events: RebalanceResponse[]) => events.at(-1)!.event;

/** Two orders of one run for the same symbol and side: what resuming must never make. */
function doubled(placed: OrderRequest[]): string[] {
  const seen = new Set<string>();
  return placed.flatMap((o) => {
    const line = `${o.runId} ${o.side} ${o.symbol}`;
    if (seen.has(line)) return [line];
    seen.add(line);
    return [];
  });
}

describe("a run that stopped, resumed", function () {
  this.timeout(20_000);
  let h: Harness;
  afterEach(() => h?.broker.close());

  it("mid-sell: waits for the working sells, places the sells not yet placed, re-plans the buys, and completes", async () => {
    h = harness();
    // Stopped as the second sell was to be recorded: the broker works the first two (the second
    // unrecorded), the others are not placed.
    let sells = 0;
    const { runId, key } = await runUntilStopped(
      h,
      (e) => sell(e) && e.kind === "orderPlaced" && ++sells === 2,
    );
    const plannedSells = (await h.store.get(runId))!.plan!.orders.filter(
      (o) => o.side === OrderSide.SELL,
    ).length;
    const sellsBefore = h.placed.filter((o) => o.side === "sell").length;
    expect(sellsBefore).to.equal(2);
    expect(plannedSells).to.be.greaterThan(2);
    expect(h.placed.filter((o) => o.side === "buy")).to.deep.equal([]);

    const coordinator = h.coordinator();
    expect(await coordinator.recover()).to.equal(1);
    const events = await follow(coordinator, key);
    const final = finalOf(events);
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    const resumed = resumedOf(events)!;
    expect(resumed.cause).to.equal(ResumeCause.PROCESS_STOPPED);
    expect(resumed.phase).to.equal(Phase.SELLING);
    expect(resumed.orders.length).to.equal(sellsBefore);
    expect(resumed.adoptedOrderIds).to.have.length(1);
    expect(resumed.message).to.contain("continuing:");
    // The resumed run's stream is the whole run: replayed up to the resume, live after.
    expect(events[0]!.event.case).to.equal("accepted");
    expect(new Set(events.map((e) => e.runId))).to.deep.equal(new Set([runId]));

    expect(h.placed.filter((o) => o.side === "sell")).to.have.length(plannedSells);
    expect(doubled(h.placed)).to.deep.equal([]);
    const firstBuy = h.placed.findIndex((o) => o.side === "buy");
    expect(firstBuy).to.be.greaterThan(h.placed.findLastIndex((o) => o.side === "sell"));
    const run = (await h.store.get(runId))!;
    expect(run.status).to.be.oneOf([RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ADJUSTMENTS]);
    expect(run.resumptions).to.have.length(1);
    const { record, broker } = await recordAndBroker(h, run);
    expect(record).to.deep.equal(broker);
  });

  it("whose sells all filled while it was stopped places only buys", async () => {
    h = harness(150);
    // Stopped at the first fill, every sell placed: the rest fill at the broker while it is down.
    const { runId, key } = await runUntilStopped(h, (e) => e.kind === "fill");
    const sells = h.placed.filter((o) => o.side === "sell");
    expect(sells.length).to.be.greaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const before = h.placed.length;

    const coordinator = h.coordinator();
    await coordinator.recover();
    const events = await follow(coordinator, key);
    expect(finalOf(events).case).to.equal("completed");
    const resumed = resumedOf(events)!;
    expect(resumed.orders.map((o) => OrderStatus[o.status])).to.deep.equal(
      sells.map(() => "FILLED"),
    );
    expect(resumed.fillsRecovered).to.be.greaterThan(0);
    const after = h.placed.slice(before);
    expect(after.length).to.be.greaterThan(0);
    expect(after.every((o) => o.side === "buy")).to.equal(true);
    expect(doubled(h.placed)).to.deep.equal([]);
    const phases = events
      .slice(events.findIndex((e) => e.event.case === "resumed"))
      .flatMap((e) => (e.event.case === "phase" ? [e.event.value.phase] : []));
    expect(phases).to.deep.equal([Phase.REFRESHING_CASH, Phase.BUYING]);
    const { record, broker } = await recordAndBroker(h, (await h.store.get(runId))!);
    expect(record).to.deep.equal(broker);
  });

  it("adopts an order the broker acknowledged just before the stop, which the record lacks, and never places it again", async () => {
    h = harness();
    // Stopped as the first sell's acknowledgement was to be recorded: the broker has it, the record not.
    const { runId, key } = await runUntilStopped(h, (e) => sell(e) && e.kind === "orderPlaced");
    expect((await h.store.get(runId))!.orders).to.deep.equal([]);
    const [first] = h.placed;

    const coordinator = h.coordinator();
    await coordinator.recover();
    const events = await follow(coordinator, key);
    expect(finalOf(events).case).to.equal("completed");
    const resumed = resumedOf(events)!;
    expect(resumed.adoptedOrderIds).to.have.length(1);
    expect(h.placed.filter((o) => o.symbol === first!.symbol && o.side === "sell")).to.have.length(
      1,
    );
    expect(doubled(h.placed)).to.deep.equal([]);
    const { record, broker } = await recordAndBroker(h, (await h.store.get(runId))!);
    expect(record).to.deep.equal(broker);
  });

  it("mid-buy: waits for the working buys, then buys only the symbols not yet bought", async () => {
    h = harness(200);
    const { runId, key } = await runUntilStopped(h, (e) => buy(e) && e.kind === "orderChanged");
    const buysBefore = h.placed.filter((o) => o.side === "buy");
    expect(buysBefore.length).to.be.greaterThan(0);

    const coordinator = h.coordinator();
    await coordinator.recover();
    const events = await follow(coordinator, key);
    const final = finalOf(events);
    expect(final.case, JSON.stringify(final.value)).to.equal("completed");
    expect(resumedOf(events)!.phase).to.equal(Phase.BUYING);
    expect(doubled(h.placed)).to.deep.equal([]);
    const run = (await h.store.get(runId))!;
    const { record, broker } = await recordAndBroker(h, run);
    expect(record).to.deep.equal(broker);
    // Balanced afterwards: a dry run plans nothing.
    const check = await coordinator.start({
      accountId: "DU1000001",
      mode: ExecutionMode.DRY_RUN,
      idempotencyKey: "check",
      waitIfBusy: true,
    });
    let planned = -1;
    for await (const e of check) {
      if (e.event.case === "plan") planned = e.event.value.plan!.orders.length;
    }
    expect(planned).to.equal(0);
  });

  it("that placed nothing starts over from the allocations", async () => {
    h = harness();
    const { runId, key } = await runUntilStopped(
      h,
      (e) => e.kind === "phaseStarted" && e.phase === "cancelling_open_orders",
    );
    expect(h.placed).to.deep.equal([]);
    const coordinator = h.coordinator();
    await coordinator.recover();
    const events = await follow(coordinator, key);
    expect(finalOf(events).case).to.equal("completed");
    expect(resumedOf(events)!.message).to.contain("starts over");
    const run = (await h.store.get(runId))!;
    expect(run.orders.length).to.be.greaterThan(0);
    expect(doubled(h.placed)).to.deep.equal([]);
  });

  it("finding the market closed ends MARKET_CLOSED: nothing more placed, its working sells cancelled, the record equal to the broker", async () => {
    h = harness(300);
    const { runId, key } = await runUntilStopped(h, (e) => sell(e) && e.kind === "orderChanged");
    const before = h.placed.length;
    h.market.open = false;

    const coordinator = h.coordinator();
    await coordinator.recover();
    const events = await follow(coordinator, key);
    const final = finalOf(events);
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.MARKET_CLOSED);
    expect(final.value.message).to.match(/^not resumed after it stopped: market closed for /);
    expect(final.value.message).to.contain("nothing more was placed");
    expect(resumedOf(events)!.message).to.contain("not resumed: market closed for");
    expect(h.placed.length).to.equal(before);
    expect(await h.broker.openOrders("DU1000001")).to.deep.equal([]);
    const run = (await h.store.get(runId))!;
    expect(run.status).to.equal(RunStatus.FAILED);
    expect(run.failureReason).to.equal(FailureReason.MARKET_CLOSED);
    const { record, broker } = await recordAndBroker(h, run);
    expect(record).to.deep.equal(broker);
  });

  it("older than the resume limit ends RESUME_EXPIRED, placing nothing more", async () => {
    h = harness(300);
    const { runId, key } = await runUntilStopped(h, (e) => sell(e) && e.kind === "orderChanged");
    const before = h.placed.length;
    h.advance(31 * 60_000);
    const coordinator = h.coordinator();
    await coordinator.recover();
    const final = finalOf(await follow(coordinator, key));
    expect(final.case).to.equal("failed");
    if (final.case !== "failed") return;
    expect(final.value.reason).to.equal(FailureReason.RESUME_EXPIRED);
    expect(final.value.message).to.contain("RUN_RESUME_MAX_AGE");
    expect(h.placed.length).to.equal(before);
    const { record, broker } = await recordAndBroker(h, (await h.store.get(runId))!);
    expect(record).to.deep.equal(broker);
  });

  for (const [change, configured, words] of [
    ["disabled since", () => accounts(", enabled: false"), "disabled"],
    [
      "whose type no longer matches TRADING_MODE",
      () => accounts().map((a) => ({ ...a, type: "live" as const })),
      "TRADING_MODE is paper",
    ],
  ] as const) {
    it(`of an account ${change} ends LIVE_GUARD, touching nothing at the broker`, async () => {
      h = harness(3_000);
      const { runId } = await runUntilStopped(h, (e) => sell(e) && e.kind === "orderChanged");
      const before = h.placed.length;
      const working = (await h.broker.openOrders("DU1000001")).length;
      expect(working).to.be.greaterThan(0);
      const coordinator = h.coordinator(configured());
      expect(await coordinator.recover()).to.equal(1);
      // Live requests for the account are refused now: the run is read back by its id.
      let run = (await h.store.get(runId))!;
      while (run.status === RunStatus.RUNNING) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        run = (await h.store.get(runId))!;
      }
      const final = finalOf(await h.store.responses(runId));
      expect(final.case).to.equal("failed");
      if (final.case !== "failed") return;
      expect(final.value.reason).to.equal(FailureReason.LIVE_GUARD);
      expect(final.value.message).to.contain(words);
      expect(final.value.message).to.contain("still working, not touched");
      expect(h.placed.length).to.equal(before);
      expect(run.failureReason).to.equal(FailureReason.LIVE_GUARD);
    });
  }

  it("handed over by a drain whose grace ended first, then resumed by the next coordinator", async () => {
    h = harness(400);
    const first = h.coordinator();
    const seen: RebalanceResponse[] = [];
    const stream = await first.start({
      accountId: "DU1000001",
      mode: ExecutionMode.LIVE,
      idempotencyKey: "drained",
      waitIfBusy: false,
    });
    const following = (async () => {
      for await (const e of stream) seen.push(e);
    })();
    while (!seen.some((e) => e.event.case === "orderSubmitted")) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const handedOver = await first.drain(50);
    await following;
    const runId = seen[0]!.runId;
    expect(handedOver).to.deep.equal([runId]);
    // The stream ends with the handover, without a final event.
    expect(seen.at(-1)!.event.case).to.equal("suspended");
    const suspended = (await h.store.get(runId))!;
    expect(suspended.status).to.equal(RunStatus.RUNNING);
    expect(suspended.suspended?.message).to.contain("handed over at shutdown");

    const second = h.coordinator();
    expect(await second.recover()).to.equal(1);
    const events = await follow(second, "drained");
    expect(finalOf(events).case).to.equal("completed");
    expect(resumedOf(events)!.cause).to.equal(ResumeCause.HANDED_OVER);
    const run = (await h.store.get(runId))!;
    expect(run.suspended).to.equal(undefined);
    expect(doubled(h.placed)).to.deep.equal([]);
    const { record, broker } = await recordAndBroker(h, run);
    expect(record).to.deep.equal(broker);
  });
});
