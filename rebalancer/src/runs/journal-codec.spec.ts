import { expect } from "chai";
import { decodeJournalEvent, encodeJournalEvent } from "./journal-codec.js";
import type { JournalEvent } from "./recorded-event.js";

describe("the journal's stored form", () => {
  it("gives back fill times, acceptance and next attempt as dates, and the provider's as-of as text", () => {
    const events: JournalEvent[] = [
      {
        kind: "accepted",
        header: {
          runId: "r",
          accountId: "DU1",
          live: false,
          idempotencyKey: "k",
          trigger: { source: "unknown", eventId: "", channel: "", caller: "" },
          createdAt: new Date("2026-03-02T15:00:00.123Z"),
        },
      },
      {
        kind: "allocationsFetched",
        strategy: "s",
        targets: [{ symbol: "SPY", weight: 1 }],
        asOf: "2026-03-01",
      },
      {
        kind: "fill",
        fill: {
          orderId: "7",
          executionId: "7.1",
          accountId: "DU1",
          symbol: "SPY",
          side: "buy",
          quantity: 1,
          price: 600.55,
          time: new Date("2026-03-02T15:00:01Z"),
        },
        order: {
          orderId: "7",
          accountId: "DU1",
          runId: "r",
          symbol: "SPY",
          side: "buy",
          quantity: 1,
          orderType: "limit",
          limitPrice: 601,
          timeInForce: "DAY",
          status: "filled",
          filledQuantity: 1,
          averageFillPrice: 600.55,
          message: "",
          warnings: ["IB 10349: TIF set to DAY"],
        },
      },
      {
        kind: "outcome",
        outcome: {
          status: "postponed",
          message: "market closed",
          nextAttemptAt: new Date("2026-03-03T14:30:00Z"),
        },
      },
    ];
    for (const event of events) {
      expect(decodeJournalEvent(encodeJournalEvent(event))).to.deep.equal(event);
    }
  });

  it("keeps a number that is not finite as it was (a broker's NaN price is not a 0)", () => {
    const event: JournalEvent = {
      kind: "accountRead",
      moment: "start",
      holdings: [
        {
          symbol: "SPY",
          quantity: 1,
          price: NaN,
          marketValue: NaN,
          weight: -Infinity,
          averageCost: Infinity,
          currency: "USD",
        },
      ],
      netLiquidation: 0,
      cash: -0.5,
    };
    expect(decodeJournalEvent(encodeJournalEvent(event))).to.deep.equal(event);
  });
});
