import { expect } from "chai";
import type { Notification } from "./notification.js";
import type { NotificationOutbox } from "./notification-outbox.js";

/** An outbox under test, and a way to open its database again as a restart would. */
export interface OutboxHarness {
  outbox: NotificationOutbox;
  /** Closes the outbox and opens the same database again. */
  reopen(): Promise<NotificationOutbox>;
  /** Closes the outbox and removes its database. */
  destroy(): Promise<void>;
}

/** A notification of run `runId`'s failure. */
export function notificationOf(runId: string): Notification {
  return {
    id: `${runId}:failed`,
    kind: "run",
    runId,
    accountId: "DU1",
    mode: "live",
    status: "failed",
    failureReason: "order_rejected",
    title: "DU1: live run failed (order_rejected)",
    message: "rejected",
    ordersPlaced: 1,
    ordersFilled: 0,
    trigger: { source: "ably", eventId: "e-1", channel: "s1" },
    consoleUrl: `http://127.0.0.1:8000/console/#/runs/${runId}`,
    occurredAt: "2026-12-07T12:00:00.000Z",
  };
}

/** The behaviour every NotificationOutbox must have, as mocha specs, for each implementation. */
export function describeOutboxContract(name: string, openHarness: () => Promise<OutboxHarness>) {
  describe(`${name} (notification outbox contract)`, () => {
    let harness: OutboxHarness;
    let outbox: NotificationOutbox;
    beforeEach(async () => {
      harness = await openHarness();
      outbox = harness.outbox;
    });
    afterEach(() => harness.destroy());

    it("records a notification once per receiver, however often it is added", async () => {
      await outbox.add(notificationOf("run-1"), ["a", "b"]);
      await outbox.add(notificationOf("run-1"), ["a", "b"]);
      expect(await outbox.counts()).to.deep.equal({ pending: 2, delivered: 0, abandoned: 0 });
      expect((await outbox.pendingTargets()).sort()).to.deep.equal(["a", "b"]);
      const row = await outbox.next("a");
      expect(row).to.deep.include({ target: "a", attempts: 0 });
      expect(row!.notification).to.deep.equal(notificationOf("run-1"));
    });

    it("hands a receiver's rows out in the order recorded, each until delivered", async () => {
      for (const run of ["run-1", "run-2", "run-3"]) await outbox.add(notificationOf(run), ["a"]);
      const ids: string[] = [];
      for (let row = await outbox.next("a"); row; row = await outbox.next("a")) {
        ids.push(row.notification.runId);
        expect((await outbox.next("a"))!.notification.runId, "again until delivered").to.equal(
          row.notification.runId,
        );
        await outbox.delivered(row.notification.id, "a");
      }
      expect(ids).to.deep.equal(["run-1", "run-2", "run-3"]);
      expect(await outbox.counts()).to.deep.equal({ pending: 0, delivered: 3, abandoned: 0 });
      await outbox.add(notificationOf("run-1"), ["a"]);
      expect(await outbox.next("a"), "a delivered notification added again").to.equal(undefined);
    });

    it("keeps undelivered rows and their failed attempts across a restart", async () => {
      await outbox.add(notificationOf("run-1"), ["a"]);
      await outbox.attemptFailed("run-1:failed", "a", "ECONNREFUSED");
      await outbox.attemptFailed("run-1:failed", "a", "ECONNREFUSED");
      outbox = await harness.reopen();
      expect(await outbox.next("a")).to.deep.include({ attempts: 2 });
    });

    it("never hands out a row given up", async () => {
      await outbox.add(notificationOf("run-1"), ["a"]);
      await outbox.add(notificationOf("run-2"), ["a"]);
      await outbox.abandon("run-1:failed", "a", "HTTP 404");
      expect((await outbox.next("a"))!.notification.runId).to.equal("run-2");
      expect(await outbox.counts()).to.deep.equal({ pending: 1, delivered: 0, abandoned: 1 });
    });
  });
}
