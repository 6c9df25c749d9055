import { expect } from "chai";
import { startTestPostgres, type TestPostgres } from "../testing/test-postgres.js";
import { describeOutboxContract, notificationOf } from "./notification-outbox.contract.js";
import { openPostgresNotificationOutbox } from "./postgres-notification-outbox.js";

describe("PostgreSQL outbox", function () {
  this.timeout(60_000);
  let postgres: TestPostgres;
  before(async () => {
    postgres = await startTestPostgres();
  });
  after(() => postgres?.stop());

  describeOutboxContract("PostgreSQL outbox", async () => {
    const url = await postgres.createDatabase();
    let outbox = await openPostgresNotificationOutbox(url);
    return {
      outbox,
      reopen: async () => {
        await outbox.close();
        outbox = await openPostgresNotificationOutbox(url);
        return outbox;
      },
      destroy: () => outbox.close(),
    };
  });

  it("lets one replica at a time send a receiver's notifications, another taking over when it closes", async () => {
    const url = await postgres.createDatabase();
    const first = await openPostgresNotificationOutbox(url, { holder: "first" });
    const second = await openPostgresNotificationOutbox(url, { holder: "second" });
    try {
      await first.add(notificationOf("run-1"), ["a", "b"]);
      expect((await first.next("a"))!.notification.runId).to.equal("run-1");
      expect(await second.next("a"), "held by the first").to.equal(undefined);
      expect((await second.next("b"))!.notification.runId, "a receiver of its own").to.equal(
        "run-1",
      );
      await first.close();
      expect((await second.next("a"))!.notification.runId).to.equal("run-1");
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("lets another replica take over a receiver whose lease lapsed", async () => {
    const url = await postgres.createDatabase();
    const first = await openPostgresNotificationOutbox(url, { holder: "first", leaseMs: 200 });
    const second = await openPostgresNotificationOutbox(url, { holder: "second", leaseMs: 200 });
    try {
      await first.add(notificationOf("run-1"), ["a"]);
      expect(await first.next("a")).not.to.equal(undefined);
      expect(await second.next("a")).to.equal(undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await second.next("a")).not.to.equal(undefined);
      expect(await first.next("a"), "the first no longer holds it").to.equal(undefined);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
