import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseAccounts, type Account } from "@mesh/platform/accounts";
import { createLogger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  FailureReason,
  OrderSide,
  Phase,
  RunStatus,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { createAllocationProvider } from "../allocations/allocation-provider.js";
import { createFileAllocations } from "../allocations/file-allocations.js";
import { createHttpAllocations } from "../allocations/http-allocations.js";
import type { OrderRequest } from "../broker/broker.js";
import { createExchangeHours } from "../broker/sim/exchange-hours.js";
import { createSimBroker, type SimBrokerOptions } from "../broker/sim/sim-broker.js";
import { createAccountGate } from "../accounts/account-gate.js";
import { connectErrorOf } from "../service/connect-error-of.js";
import { createRunCoordinator, type RunRequest } from "./run-coordinator.js";
import type { RunStore } from "./run-store.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

const root = new URL("../../../", import.meta.url).pathname;

function accounts(extra = ""): Map<string, Account> {
  const config = parseAccounts(
    `
defaults:
  allocation_url: "file:rebalancer/allocations/{strategy}.yaml"
  min_order_value: 50
  drift_band_percent: 0.5
replacement_sets:
  ira: [{ source: UVXY, target: VXX, scale: 1.5 }, { source: DBC, target: PDBC, scale: 1.0 }, { source: SPXL, target: SPY, scale: 3.0 }]
accounts:
  - { account_id: DU1000001, type: paper, strategy: etf-blend-301-20, cash_reserve_percent: 2 }
  - { account_id: DU1000002, type: paper, strategy: etf-blend-200-35, replacement_set: ira }
  - { account_id: U3000001, type: live, strategy: etf-blend-301-20 }
  - { account_id: DU1000009, type: paper, strategy: etf-blend-301-20, allocation_url: "http://127.0.0.1:9/down" }
${extra}`,
    join(root, "accounts.yaml"),
  );
  return new Map(config.accounts.map((a) => [a.accountId, a]));
}

interface Harness {
  start(request: Partial<RunRequest>): Promise<RebalanceResponse[]>;
  placed: OrderRequest[];
  store: RunStore;
  coordinator: ReturnType<typeof createRunCoordinator>;
}

/** The test accounts with DU1000001's settings changed. */
function withSettings(settings: Partial<Account["settings"]>): Map<string, Account> {
  const all = accounts();
  const account = all.get("DU1000001")!;
  all.set("DU1000001", { ...account, settings: { ...account.settings, ...settings } });
  return all;
}

function harness(
  sim: SimBrokerOptions = {},
  now = () => new Date(),
  configured: Map<string, Account> = accounts(),
): Harness {
  const placed: OrderRequest[] = [];
  const broker = createSimBroker({ fillDelayMs: 5, now, ...sim });
  // Record what reaches the broker, to prove what was (not) placed.
  const place = broker.placeOrder.bind(broker);
  broker.placeOrder = (request) => {
    placed.push(request);
    return place(request);
  };
  const store = createSqliteRunStore(join(mkdtempSync(join(tmpdir(), "coord-")), "runs.sqlite"));
  const coordinator = createRunCoordinator({
    store,
    gate: createAccountGate({ accounts: [...configured.values()], tradingMode: "paper" }),
    logger: createLogger({ name: "test", level: "silent" }),
    execution: {
      broker,
      allocations: createAllocationProvider({
        file: createFileAllocations(),
        http: createHttpAllocations({ attempts: 3, initialBackoffMs: 5, timeoutMs: 500 }),
      }),
      now,
      cancelTimeoutMs: 300,
      fillTimeoutMs: 400,
    },
  });
  return {
    placed,
    store,
    coordinator,
    async start(request) {
      const stream = await coordinator.start({
        accountId: "DU1000001",
        mode: ExecutionMode.LIVE,
        idempotencyKey: "",
        waitIfBusy: false,
        ...request,
      });
      const events: RebalanceResponse[] = [];
      for await (const event of stream) events.push(event);
      return events;
    },
  };
}

const cases = (events: RebalanceResponse[]) => events.map((e) => e.event.case);
const last = (events: RebalanceResponse[]) => events.at(-1)!.event;

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    // As the service answers it: refusals get their RPC code there.
    return ConnectError.from(connectErrorOf(err));
  }
  throw new Error("expected a refusal");
}

describe("a rebalance run", () => {
  it("streams a dry run's plan and places nothing", async () => {
    const h = harness();
    const events = await h.start({ mode: ExecutionMode.DRY_RUN });
    expect(cases(events)).to.deep.equal([
      "accepted",
      "phase",
      "allocations",
      "phase",
      "phase",
      "phase",
      "phase",
      "plan",
      "completed",
    ]);
    expect(events.map((e) => e.sequence)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const plan = events.find((e) => e.event.case === "plan")!.event.value as {
      plan: { orders: { symbol: string; side: OrderSide }[] };
    };
    const sells = plan.plan.orders.filter((o) => o.side === OrderSide.SELL).map((o) => o.symbol);
    expect(sells).to.include.members(["AAPL", "IWM"]);
    expect(h.placed).to.deep.equal([]);
    const run = await h.store.get(events[0]!.runId);
    expect(run?.status).to.equal(RunStatus.COMPLETED);
    expect(run?.mode).to.equal(ExecutionMode.DRY_RUN);
  });

  it("treats an unset mode as a dry run", async () => {
    const h = harness();
    const events = await h.start({ mode: ExecutionMode.UNSPECIFIED });
    expect(last(events).case).to.equal("completed");
    expect(h.placed).to.deep.equal([]);
  });

  it("fills every sell before placing any buy, tagging orders with the run id", async () => {
    const h = harness({ fillParts: 2 });
    const events = await h.start({});
    expect(last(events).case).to.equal("completed");
    const sellFills = new Set<number>();
    let firstBuy = Infinity;
    let lastSellFill = 0;
    for (const e of events) {
      if (e.event.case === "orderFilled" && e.event.value.fill?.side === OrderSide.SELL) {
        lastSellFill = e.sequence;
        sellFills.add(e.sequence);
      }
      if (e.event.case === "orderSubmitted" && e.event.value.order?.side === OrderSide.BUY) {
        firstBuy = Math.min(firstBuy, e.sequence);
      }
    }
    expect(sellFills.size).to.be.greaterThan(0);
    expect(firstBuy).to.be.greaterThan(lastSellFill);
    const phases = events.flatMap((e) => (e.event.case === "phase" ? [e.event.value.phase] : []));
    expect(phases.filter((p) => p >= Phase.CANCELLING_OPEN_ORDERS)).to.deep.equal([
      Phase.PREFLIGHT,
      Phase.CANCELLING_OPEN_ORDERS,
      Phase.SELLING,
      Phase.REFRESHING_CASH,
      Phase.BUYING,
    ]);
    expect(new Set(h.placed.map((o) => o.runId))).to.deep.equal(new Set([events[0]!.runId]));
  });

  it("never spends more than the cash left after the reserve", async () => {
    const h = harness();
    await h.start({});
    const run = (await h.store.list("DU1000001", 1))[0]!;
    const after = await h.start({ mode: ExecutionMode.DRY_RUN, idempotencyKey: "check" });
    const plan = after.find((e) => e.event.case === "plan")!.event.value as {
      cash: number;
      netLiquidation: number;
    };
    expect(run.status).to.equal(RunStatus.COMPLETED);
    expect(plan.cash).to.be.at.least(plan.netLiquidation * 0.02 - 0.01);
  });

  it("stops before any buy when a sell is rejected, naming the order and the reason", async () => {
    const h = harness({ rejections: { AAPL: "no trading permission" } });
    const events = await h.start({});
    const failed = last(events);
    expect(failed.case).to.equal("failed");
    if (failed.case !== "failed") return;
    expect(failed.value.reason).to.equal(FailureReason.ORDER_REJECTED);
    expect(failed.value.message).to.match(/sell of 40 AAPL .*rejected: no trading permission/);
    expect(h.placed.filter((o) => o.side === "buy")).to.deep.equal([]);
  });

  it("fails on a sell that does not fill in time, cancels it, and buys nothing", async () => {
    const h = harness({ unfilled: ["IWM"] });
    const events = await h.start({});
    const failed = last(events);
    expect(failed.case).to.equal("failed");
    if (failed.case !== "failed") return;
    expect(failed.value.reason).to.equal(FailureReason.ORDER_TIMEOUT);
    expect(failed.value.message).to.match(/IWM .*not filled/);
    expect(h.placed.filter((o) => o.side === "buy")).to.deep.equal([]);
  });

  it("prices limit orders a band off the last price, with the account's time in force and outsideRth", async () => {
    const h = harness(
      {},
      undefined,
      withSettings({
        orderType: "limit",
        limitBandPercent: 1,
        timeInForce: "GTC",
        extendedHours: true,
      }),
    );
    const events = await h.start({});
    expect(last(events).case).to.equal("completed");
    const aapl = h.placed.find((o) => o.symbol === "AAPL")!;
    expect(aapl).to.include({
      side: "sell",
      orderType: "limit",
      timeInForce: "GTC",
      outsideRth: true,
    });
    expect(aapl.limitPrice).to.equal(199.54); // 201.56 less 1 %, in cents
    const buy = h.placed.find((o) => o.side === "buy")!;
    expect(buy.limitPrice).to.be.greaterThan(0);
    expect(h.placed.every((o) => o.outsideRth && o.timeInForce === "GTC")).to.equal(true);
  });

  it("refuses a plan over the account's order value cap, naming it, and places nothing", async () => {
    const h = harness({}, undefined, withSettings({ maxOrderValue: 1_000 }));
    const events = await h.start({});
    const failed = last(events);
    expect(failed.case).to.equal("failed");
    if (failed.case !== "failed") return;
    expect(failed.value.reason).to.equal(FailureReason.RISK_LIMIT);
    expect(failed.value.message).to.match(/^cannot plan: .*1,?000/);
    expect(h.placed).to.deep.equal([]);
  });

  it("fails a plan whose order is more shares than one order can carry, naming the price", async () => {
    const h = harness({ prices: { BTAL: 0.000001 } });
    const events = await h.start({ mode: ExecutionMode.DRY_RUN });
    const failed = last(events);
    expect(failed.case).to.equal("failed");
    if (failed.case !== "failed") return;
    expect(failed.value.message).to.match(
      /buy of \d+ BTAL is more shares than one order can carry/,
    );
    expect(h.placed).to.deep.equal([]);
  });

  it("ends the stream with an error and frees the account when the run cannot be recorded", async () => {
    const h = harness();
    const append = h.store.appendEvent.bind(h.store);
    h.store.appendEvent = async (event) => {
      if (event.sequence > 3) throw new Error("disk full");
      return append(event);
    };
    const err = await refusal(h.start({ mode: ExecutionMode.DRY_RUN, idempotencyKey: "a" }));
    expect(err.code).to.equal(Code.Internal);
    expect(err.rawMessage).to.match(/^run run-\S+ stopped: disk full$/);
    expect(h.coordinator.isBusy("DU1000001")).to.equal(false);
    const [run] = await h.store.list("DU1000001", 1);
    expect(run?.status).to.equal(RunStatus.FAILED);
    expect(run?.message).to.contain("disk full");
  });

  it("returns the existing run for a repeated idempotency key and places nothing new", async () => {
    const h = harness();
    const first = await h.start({ idempotencyKey: "event-1:DU1000001" });
    const count = h.placed.length;
    expect(count).to.be.greaterThan(0);
    const again = await h.start({ idempotencyKey: "event-1:DU1000001" });
    expect(h.placed.length).to.equal(count);
    expect(again.map((e) => e.runId)).to.deep.equal(first.map((e) => e.runId));
    expect(again.every((e) => e.replayed)).to.equal(true);
    expect(cases(again)).to.deep.equal(cases(first));
  });

  it("follows a run in progress when its key is repeated, instead of starting another", async () => {
    const h = harness({ fillDelayMs: 30 });
    const [a, b] = await Promise.all([
      h.start({ idempotencyKey: "same" }),
      h.start({ idempotencyKey: "same" }),
    ]);
    expect(b.map((e) => e.runId)).to.deep.equal(a.map((e) => e.runId));
    expect(new Set(h.placed.map((o) => o.runId)).size).to.equal(1);
  });

  it("answers every concurrent repeat of a finished run's key, and names only runs that exist", async () => {
    const h = harness();
    const first = await h.start({ idempotencyKey: "done" });
    const count = h.placed.length;
    const repeats = Array.from({ length: 20 }, () => h.start({ idempotencyKey: "done" }));
    // Sent while the repeats hold the account: it runs after them, or is refused naming a run
    // the store knows.
    const other = h.start({ idempotencyKey: "other" }).then(
      () => undefined,
      (err: unknown) => ConnectError.from(connectErrorOf(err)),
    );
    for (const events of await Promise.all(repeats)) {
      expect(events.map((e) => e.runId)).to.deep.equal(first.map((e) => e.runId));
      expect(events.every((e) => e.replayed)).to.equal(true);
    }
    const refused = await other;
    if (refused !== undefined) {
      const named = /busy with run (\S+);/.exec(refused.rawMessage)?.[1];
      expect((await h.store.get(named ?? "none"))?.runId).to.equal(named);
    }
    expect(h.placed.length - count, "only the other key may place orders").to.be.at.most(count);
  });

  it("refuses a second run on a busy account with aborted, naming the running run", async () => {
    const h = harness({ fillDelayMs: 30 });
    const first = h.start({ idempotencyKey: "a" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const err = await refusal(h.start({ idempotencyKey: "b" }));
    expect(err.code).to.equal(Code.Aborted);
    expect(err.rawMessage).to.match(/account DU1000001 is busy with run run-/);
    await first;
  });

  it("waits for the running run when asked to, then runs", async () => {
    const h = harness({ fillDelayMs: 20 });
    const [a, b] = await Promise.all([
      h.start({ idempotencyKey: "a" }),
      h.start({ idempotencyKey: "b", waitIfBusy: true, mode: ExecutionMode.DRY_RUN }),
    ]);
    expect(last(a).case).to.equal("completed");
    expect(last(b).case).to.equal("completed");
    expect(a[0]!.runId).to.not.equal(b[0]!.runId);
  });

  it("refuses live execution when the account type does not match TRADING_MODE, before any broker call", async () => {
    const h = harness();
    const err = await refusal(h.start({ accountId: "U3000001" }));
    expect(err.code).to.equal(Code.PermissionDenied);
    expect(err.rawMessage).to.equal(
      "live run refused: account U3000001 is live but TRADING_MODE is paper",
    );
    expect(h.placed).to.deep.equal([]);
    expect(await h.store.list("U3000001", 10)).to.deep.equal([]);
  });

  it("refuses unknown accounts and empty ids clearly", async () => {
    const h = harness();
    expect((await refusal(h.start({ accountId: "NOPE" }))).code).to.equal(Code.NotFound);
    expect((await refusal(h.start({ accountId: "" }))).code).to.equal(Code.InvalidArgument);
    expect((await refusal(h.start({ mode: 7 as ExecutionMode }))).code).to.equal(
      Code.InvalidArgument,
    );
  });

  it("postpones to the next session when a market is closed, placing nothing", async () => {
    const saturday = new Date("2026-11-28T15:00:00Z");
    const h = harness({ marketHours: createExchangeHours() }, () => saturday);
    const events = await h.start({});
    const postponed = last(events);
    expect(postponed.case).to.equal("postponed");
    if (postponed.case !== "postponed") return;
    expect(postponed.value.message).to.match(/market closed for /);
    expect(postponed.value.nextAttemptAt?.seconds).to.equal(
      BigInt(Date.parse("2026-11-30T14:30:00Z") / 1000),
    );
    expect(h.placed).to.deep.equal([]);
    expect((await h.store.get(events[0]!.runId))?.status).to.equal(RunStatus.POSTPONED);
  });

  it("fails clearly when the allocation API is down, after retrying", async () => {
    const h = harness();
    const events = await h.start({ accountId: "DU1000009" });
    const failed = last(events);
    expect(failed.case).to.equal("failed");
    if (failed.case !== "failed") return;
    expect(failed.value.reason).to.equal(FailureReason.ALLOCATIONS_UNAVAILABLE);
    expect(failed.value.message).to.match(/after 3 attempts/);
    expect(h.placed).to.deep.equal([]);
  });
});
