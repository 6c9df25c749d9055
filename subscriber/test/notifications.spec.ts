import { Code } from "@connectrpc/connect";
import type { Notification } from "@mesh/platform/notify/notification";
import { parseNotifyTarget } from "@mesh/platform/notify/notify-target";
import { openPostgresNotificationOutbox } from "@mesh/platform/notify/postgres-notification-outbox";
import { openSqliteNotificationOutbox } from "@mesh/platform/notify/sqlite-notification-outbox";
import {
  startNotificationReceiver,
  type NotificationReceiver,
} from "@mesh/platform/testing/notification-receiver";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { startSubscriber, type Subscriber } from "../src/app.js";
import { startFakeRebalancer, type FakeRebalancer } from "./support/fake-rebalancer.js";
import { postEvent, scratchDir, testConfig, testLogger } from "./support/test-subscriber.js";

describe("dead-letter notifications", function () {
  this.timeout(20_000);
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let receiver: NotificationReceiver;
  let subscriber: Subscriber | undefined;

  const start = async () => {
    const config = testConfig(scratch.dir, rebalancer.url);
    subscriber = await startSubscriber(config, {
      logger: testLogger,
      notify: {
        targets: [parseNotifyTarget(`${receiver.url}/hook`)],
        initialRetryDelayMs: 50,
        maxRetryDelayMs: 300,
      },
    });
    return { subscriber, inboxFile: config.inboxFile };
  };
  /** The outbox's rows by state: it lives in the inbox's own SQLite file. */
  const outboxCounts = async (inboxFile: string) => {
    const outbox = openSqliteNotificationOutbox(inboxFile);
    try {
      return await outbox.counts();
    } finally {
      await outbox.close();
    }
  };

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
    rebalancer.behaviour = () => ({
      kind: "error",
      code: Code.FailedPrecondition,
      message: "live guard: TRADING_MODE is paper",
    });
    receiver = await startNotificationReceiver();
  });
  afterEach(async () => {
    await subscriber?.close();
    subscriber = undefined;
    await rebalancer.stop();
    await receiver.stop();
    scratch.remove();
  });

  it("posts one notification for a dead-lettered event, and a new one when it is dead-lettered again after a re-drive", async () => {
    const { subscriber, inboxFile } = await start();
    await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "guarded" });
    await until(async () => (await outboxCounts(inboxFile)).delivered === 1);
    const [dead] = await subscriber.inbox.list({ state: "dead" });
    const [notification, ...more] = receiver.json<Notification>();
    expect(more).to.deep.equal([]);
    expect(receiver.received[0]!.path).to.equal("/hook");
    expect(notification).to.deep.include({
      id: `dead-letter:${dead!.id}:0`,
      kind: "dead_letter",
      runId: "",
      accountId: "DU003",
      mode: "live",
      status: "dead_lettered",
      title: "DU003: rebalance guarded dead-lettered",
      message: "FailedPrecondition: live guard: TRADING_MODE is paper",
      consoleUrl: "",
    });
    expect(notification!.trigger).to.deep.equal({
      source: "http",
      eventId: "guarded",
      channel: "s2",
    });

    expect(await subscriber.inbox.redrive(dead!.id, Date.now())).to.equal(true);
    await until(async () => (await outboxCounts(inboxFile)).delivered === 2);
    expect(receiver.json<Notification>().map((n) => n.id)).to.deep.equal([
      `dead-letter:${dead!.id}:0`,
      `dead-letter:${dead!.id}:1`,
    ]);
    expect(await outboxCounts(inboxFile)).to.deep.equal({
      pending: 0,
      delivered: 2,
      abandoned: 0,
    });
  });

  it("delivers after a restart a dead letter's notification its receiver was down for", async () => {
    await receiver.stop();
    const first = await start();
    await postEvent(first.subscriber.url, "s2", { exec: "rebalance", eventId: "guarded" });
    await until(async () => (await outboxCounts(first.inboxFile)).pending === 1);
    await first.subscriber.close();
    subscriber = undefined;
    expect(receiver.received).to.deep.equal([]);

    await receiver.start();
    const second = await start();
    await until(async () => (await outboxCounts(second.inboxFile)).delivered === 1);
    expect(receiver.json<Notification>().map((n) => n.status)).to.deep.equal(["dead_lettered"]);
    expect(await outboxCounts(second.inboxFile)).to.deep.include({ pending: 0 });
  });
});

describe("dead-letter notifications with the inbox in PostgreSQL", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let receiver: NotificationReceiver;
  const running: Subscriber[] = [];

  beforeEach(async () => {
    server = await startTestPostgres();
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
    rebalancer.behaviour = () => ({ kind: "error", code: Code.PermissionDenied });
    receiver = await startNotificationReceiver();
  });
  afterEach(async () => {
    for (const subscriber of running.splice(0)) await subscriber.close();
    await rebalancer.stop();
    await receiver.stop();
    await server.stop();
    scratch.remove();
  });

  it("notifies each dead letter once from two replicas sharing the database", async () => {
    const url = await server.createDatabase();
    for (const replica of ["a", "b"]) {
      const config = testConfig(scratch.dir, rebalancer.url, {
        databaseUrl: url,
        dataDir: `${scratch.dir}/${replica}`,
      });
      running.push(
        await startSubscriber(config, {
          logger: testLogger,
          notify: {
            targets: [parseNotifyTarget(`${receiver.url}/hook`)],
            initialRetryDelayMs: 50,
            maxRetryDelayMs: 300,
          },
        }),
      );
    }
    for (const eventId of ["p-1", "p-2", "p-3"]) {
      await postEvent(running[0]!.url, "s1", { exec: "rebalance", eventId });
    }
    // Two accounts on s1: six entries, dead-lettered by whichever replica delivered them.
    await until(async () => (await running[0]!.inbox.counts()).dead === 6, 10_000);
    const outbox = await openPostgresNotificationOutbox(url);
    try {
      await until(async () => (await outbox.counts()).delivered === 6, 10_000, "all delivered");
      expect(await outbox.counts()).to.deep.equal({ pending: 0, delivered: 6, abandoned: 0 });
    } finally {
      await outbox.close();
    }
    const ids = receiver.json<Notification>().map((n) => n.id);
    expect(ids).to.have.length(6);
    expect(new Set(ids).size).to.equal(6);
  });
});
