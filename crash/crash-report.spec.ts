import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import {
  ExecutionMode,
  OrderSchema,
  OrderSide,
  OrderStatus,
  RunSchema,
  RunStatus,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { BrokerOrder } from "@mesh/rebalancer/broker/broker";
import { isClean, tallyCrash, type CrashObservations } from "./crash-report.js";

function brokerOrder(
  orderId: string,
  runId: string,
  overrides: Partial<BrokerOrder> = {},
): BrokerOrder {
  return {
    orderId,
    accountId: "DU1",
    symbol: "AAA",
    side: "sell",
    quantity: 10,
    orderType: "market",
    limitPrice: 0,
    timeInForce: "DAY",
    status: "filled",
    filledQuantity: 10,
    averageFillPrice: 1,
    message: "",
    runId,
    ...overrides,
  };
}

function run(
  runId: string,
  eventId: string,
  orders: BrokerOrder[],
  status = RunStatus.COMPLETED,
): Run {
  return create(RunSchema, {
    runId,
    accountId: "DU1",
    mode: ExecutionMode.LIVE,
    status,
    trigger: { source: "subscriber", eventId },
    orders: orders.map((o) =>
      create(OrderSchema, {
        orderId: o.orderId,
        symbol: o.symbol,
        side: o.side === "buy" ? OrderSide.BUY : OrderSide.SELL,
        quantity: o.quantity,
        status: OrderStatus[o.status.toUpperCase() as keyof typeof OrderStatus],
        filledQuantity: o.filledQuantity,
        runId: o.runId,
        accountId: o.accountId,
      }),
    ),
  });
}

function clean(): CrashObservations {
  const sell = brokerOrder("1", "r1");
  const buy = brokerOrder("2", "r1", { side: "buy", symbol: "BBB" });
  return {
    accepted: [{ eventId: "e1", accountId: "DU1" }],
    runs: [run("r1", "e1", [sell, buy])],
    ledger: [sell, buy],
    deadLetters: [],
    dryRuns: new Map([["DU1", []]]),
  };
}

describe("tallyCrash", () => {
  it("counts nothing when every event ran once and every record equals the broker", () => {
    const { counts, details } = tallyCrash(clean());
    expect(isClean(counts), details.join("\n")).to.equal(true);
  });

  it("counts an accepted event without a run as lost", () => {
    const seen = clean();
    seen.accepted.push({ eventId: "e2", accountId: "DU1" });
    expect(tallyCrash(seen).counts.eventsLost).to.equal(1);
  });

  it("counts an order recorded by two runs, a second run of an event and a line traded twice as duplicates", () => {
    const seen = clean();
    const again = brokerOrder("3", "r2");
    seen.runs.unshift(run("r2", "e1", [again, seen.ledger[0]!]));
    seen.ledger.push(again, brokerOrder("4", "r1", { symbol: "AAA" }));
    seen.runs[1]!.orders.push(...run("x", "", [seen.ledger[3]!]).orders);
    const { counts } = tallyCrash(seen);
    // order 1 in r1 and r2; r2 repeats e1 with orders 3; r1 sold AAA twice (1 and 4).
    expect(counts.duplicatedOrders).to.equal(3);
  });

  it("counts failed and running runs, dead letters and unbalanced accounts", () => {
    const seen = clean();
    seen.runs[0]!.status = RunStatus.FAILED;
    seen.deadLetters.push("DU1 e1: run r1 failed (INTERRUPTED)");
    seen.dryRuns.set("DU1", ["BUY 3 BBB"]);
    expect(tallyCrash(seen).counts).to.include({
      runsInterrupted: 1,
      deadLettered: 1,
      accountsUnbalanced: 1,
    });
  });

  it("counts orders on which the record and the broker disagree, or that no run owns", () => {
    const seen = clean();
    seen.runs[0]!.orders[0]!.status = OrderStatus.PARTIALLY_FILLED;
    seen.ledger.push(brokerOrder("5", "r1", { symbol: "CCC" }), brokerOrder("6", "nobody"));
    const { counts, details } = tallyCrash(seen);
    expect(counts.ordersMismatched, details.join("\n")).to.equal(3);
  });
});
