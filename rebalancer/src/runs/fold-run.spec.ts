import { expect } from "chai";
import type { BrokerFill, BrokerOrder } from "../broker/broker.js";
import type { RunEvent } from "../execution/run-event.js";
import type { PlannedOrder } from "../planning/index.js";
import { foldRun } from "./fold-run.js";
import type { RecordedEvent } from "./recorded-event.js";
import type { RunHeader } from "./run-header.js";

const header: RunHeader = {
  runId: "run-1",
  accountId: "DU1",
  live: true,
  idempotencyKey: "k",
  trigger: { source: "test", eventId: "", channel: "", caller: "" },
  createdAt: new Date("2026-03-02T15:00:00Z"),
};

/** A journal: the acceptance, then `events`, numbered from 2, a second apart. */
function journal(...events: RunEvent[]): RecordedEvent[] {
  const at = (i: number) => new Date(header.createdAt.getTime() + i * 1000);
  return [
    { runId: "run-1", sequence: 1, time: at(0), event: { kind: "accepted", header } },
    ...events.map((event, i) => ({ runId: "run-1", sequence: i + 2, time: at(i + 1), event })),
  ];
}

const order = (status: BrokerOrder["status"], filledQuantity: number): BrokerOrder => ({
  orderId: "7",
  accountId: "DU1",
  runId: "run-1",
  symbol: "SPY",
  side: "sell",
  quantity: 630,
  orderType: "market",
  limitPrice: 0,
  timeInForce: "DAY",
  status,
  filledQuantity,
  averageFillPrice: filledQuantity > 0 ? 600 : 0,
  message: "",
});
const fill = (executionId: string, quantity: number): BrokerFill => ({
  orderId: "7",
  executionId,
  accountId: "DU1",
  symbol: "SPY",
  side: "sell",
  quantity,
  price: 600,
  time: new Date("2026-03-02T15:00:05Z"),
});
const planned = (symbol: string, side: "buy" | "sell", quantity: number): PlannedOrder => ({
  symbol,
  side,
  quantity,
  price: 100,
  value: quantity * 100,
  reason: "test",
});

describe("folding a run's journal (foldRun)", () => {
  it("keeps an order's latest state and never takes it back (FILLED 630 stays FILLED 630)", () => {
    const state = foldRun(
      journal(
        { kind: "orderPlaced", order: order("submitted", 0) },
        { kind: "orderChanged", order: order("filled", 630) },
        { kind: "orderChanged", order: order("partially_filled", 315) },
      ),
    );
    expect([...state.orders.values()].map((o) => [o.status, o.filledQuantity])).to.deep.equal([
      ["filled", 630],
    ]);
  });

  it("adds each fill once, so folding events the journal already holds changes nothing", () => {
    const filled: RunEvent = {
      kind: "fill",
      fill: fill("7.1", 315),
      order: order("partially_filled", 315),
    };
    const state = foldRun(
      journal({ kind: "orderPlaced", order: order("submitted", 0) }, filled, filled),
    );
    expect(state.fills.map((f) => f.executionId)).to.deep.equal(["7.1"]);
    expect(state.orders.get("7")?.filledQuantity).to.equal(315);
  });

  it("rebuilds where a run stood: phase, plan with its checks, each order by broker id and run id, each fill, the outcome", () => {
    const events = journal(
      { kind: "phaseStarted", phase: "planning" },
      {
        kind: "planMade",
        plan: {
          sells: [planned("SPY", "sell", 630)],
          buys: [planned("TLT", "buy", 10), planned("GLD", "buy", 5)],
          targets: [],
          weights: [],
          projectedCash: 1_000,
          reservedCash: 200,
          warnings: ["from planning"],
        },
      },
      { kind: "warning", message: "preflight: scaled" },
      {
        kind: "planChecked",
        preflight: {
          checked: true,
          skippedReason: "",
          results: [],
          availableFunds: 5_000,
          fundsForBuys: 900,
          buysRequired: 1_500,
          buysScaled: true,
        },
        buys: [planned("TLT", "buy", 6)],
      },
      { kind: "phaseStarted", phase: "selling" },
      { kind: "orderPlaced", order: order("submitted", 0) },
      { kind: "fill", fill: fill("7.1", 630), order: order("filled", 630) },
    );
    const state = foldRun(events);
    expect(state.sequence).to.equal(8);
    expect(state.phase).to.equal("selling");
    expect(state.planChecked).to.equal(true);
    expect(state.plan?.sells.map((o) => o.symbol)).to.deep.equal(["SPY"]);
    expect(state.plan?.buys.map((o) => [o.symbol, o.quantity])).to.deep.equal([["TLT", 6]]);
    expect(state.plan?.warnings).to.deep.equal(["from planning", "preflight: scaled"]);
    expect(state.plan?.preflight?.buysScaled).to.equal(true);
    expect([...state.orders.values()].map((o) => [o.orderId, o.runId, o.status])).to.deep.equal([
      ["7", "run-1", "filled"],
    ]);
    expect(state.fills.map((f) => f.executionId)).to.deep.equal(["7.1"]);
    expect(state.outcome).to.equal(undefined);

    const ended = foldRun([
      ...events,
      {
        runId: "run-1",
        sequence: 9,
        time: new Date("2026-03-02T15:01:00Z"),
        event: {
          kind: "outcome",
          outcome: { status: "completed", message: "completed: 1 orders filled" },
        },
      },
    ]);
    expect(ended.outcome?.status).to.equal("completed");
    expect(ended.finishedAt?.toISOString()).to.equal("2026-03-02T15:01:00.000Z");
  });

  it("keeps each resume with when it happened, where the run stood before it, and a handover until the next resume", () => {
    const resumption = {
      cause: "handed_over" as const,
      phase: "selling" as const,
      orders: [order("filled", 630)],
      adoptedOrderIds: [],
      fillsRecovered: 1,
      message: "continuing",
    };
    const events: RecordedEvent[] = journal(
      { kind: "phaseStarted", phase: "selling" },
      { kind: "phaseStarted", phase: "resuming" },
      { kind: "resumed", resumption },
    );
    const suspended: RecordedEvent = {
      runId: "run-1",
      sequence: 3,
      time: new Date("2026-03-02T15:00:01.500Z"),
      event: { kind: "suspended", message: "handed over at shutdown" },
    };
    const stopped = foldRun([...events.slice(0, 2), suspended]);
    expect(stopped.suspended?.message).to.equal("handed over at shutdown");
    const state = foldRun([
      ...events.slice(0, 2),
      suspended,
      ...events.slice(2).map((e) => ({ ...e, sequence: e.sequence + 1 })),
    ]);
    expect(state.suspended).to.equal(undefined);
    expect(state.phase).to.equal("resuming");
    expect(state.stoodIn).to.equal("selling");
    expect(state.resumptions).to.deep.equal([{ ...resumption, time: events[3]!.time }]);
  });

  it("is pure: the same journal gives the same state and is left as it was", () => {
    const events = journal(
      {
        kind: "planMade",
        plan: {
          sells: [],
          buys: [planned("TLT", "buy", 10)],
          targets: [],
          weights: [],
          projectedCash: 0,
          reservedCash: 0,
          warnings: [],
        },
      },
      { kind: "warning", message: "one" },
      { kind: "orderPlaced", order: order("submitted", 0) },
    );
    const before = structuredClone(events);
    const first = foldRun(events);
    const second = foldRun(events);
    expect(second).to.deep.equal(first);
    expect(events).to.deep.equal(before);
  });

  it("refuses a journal that does not start with the run's acceptance", () => {
    const [, ...rest] = journal({ kind: "phaseStarted", phase: "planning" });
    expect(() => foldRun(rest)).to.throw(/starts with its acceptance/);
  });
});
