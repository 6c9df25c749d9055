import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { createLogger } from "../logger.js";
import {
  startNotificationReceiver,
  type NotificationReceiver,
} from "../testing/notification-receiver.js";
import { until } from "../testing/until.js";
import { notificationOf } from "./notification-outbox.contract.js";
import type { NotificationOutbox } from "./notification-outbox.js";
import { createNotificationSender, type NotificationSender } from "./notification-sender.js";
import type { NotifyMetrics } from "./notify-metrics.js";
import { parseNotifyTarget } from "./notify-target.js";
import { openSqliteNotificationOutbox } from "./sqlite-notification-outbox.js";

const logger = createLogger({ name: "test", level: "silent" });
const quick = { initialRetryDelayMs: 20, maxRetryDelayMs: 100, logger };

describe("createNotificationSender", () => {
  let dir: string;
  let outbox: NotificationOutbox;
  let receiver: NotificationReceiver;
  let sender: NotificationSender | undefined;
  const counted: string[] = [];
  const metrics: NotifyMetrics = {
    sent: (format) => counted.push(`sent:${format}`),
    failed: (format) => counted.push(`failed:${format}`),
    retried: (format) => counted.push(`retried:${format}`),
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "sender-"));
    outbox = openSqliteNotificationOutbox(join(dir, "notifications.sqlite"));
    receiver = await startNotificationReceiver();
    counted.length = 0;
  });
  afterEach(async () => {
    await sender?.close();
    sender = undefined;
    await outbox.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends each receiver its notifications in the order recorded, once", async () => {
    const targets = [`${receiver.url}/a`, `ntfy+${receiver.url}/b`].map(parseNotifyTarget);
    sender = createNotificationSender({ ...quick, outbox, targets, metrics });
    for (const run of ["run-1", "run-2", "run-3"]) await sender.enqueue(notificationOf(run));
    await until(async () => (await outbox.counts()).delivered === 6);
    const byPath = (path: string) => receiver.received.filter((r) => r.path === path);
    expect(byPath("/a").map((r) => (JSON.parse(r.body) as { runId: string }).runId)).to.deep.equal([
      "run-1",
      "run-2",
      "run-3",
    ]);
    expect(byPath("/b")).to.have.length(3);
    expect(counted.filter((c) => c.startsWith("sent:")).sort()).to.deep.equal([
      ...Array<string>(3).fill("sent:json"),
      ...Array<string>(3).fill("sent:ntfy"),
    ]);
  });

  it("gives up a notification the receiver refuses for good and goes on with the next", async () => {
    receiver.status = 404;
    const targets = [parseNotifyTarget(receiver.url)];
    sender = createNotificationSender({ ...quick, outbox, targets, metrics });
    await sender.enqueue(notificationOf("run-1"));
    await until(async () => (await outbox.counts()).abandoned === 1);
    receiver.status = 200;
    await sender.enqueue(notificationOf("run-2"));
    await until(async () => (await outbox.counts()).delivered === 1);
    expect(receiver.received).to.have.length(2);
    expect(counted).to.deep.equal(["failed:json", "sent:json"]);
  });

  it("retries a receiver that answers 503 or 429 until it takes the notification", async () => {
    receiver.status = 503;
    const targets = [parseNotifyTarget(receiver.url)];
    sender = createNotificationSender({ ...quick, outbox, targets, metrics });
    await sender.enqueue(notificationOf("run-1"));
    await until(() => receiver.received.length >= 2);
    receiver.status = 429;
    await until(() => receiver.received.length >= 4);
    receiver.status = 200;
    await until(async () => (await outbox.counts()).delivered === 1);
    expect(counted.at(-1)).to.equal("sent:json");
    expect(counted.filter((c) => c === "retried:json").length).to.be.at.least(3);
  });

  it("gives up, at start, what waits for a receiver no longer configured", async () => {
    await outbox.add(notificationOf("run-1"), ["removed-receiver"]);
    sender = createNotificationSender({
      ...quick,
      outbox,
      targets: [parseNotifyTarget(receiver.url)],
    });
    await until(async () => (await outbox.counts()).abandoned === 1);
    expect(receiver.received).to.deep.equal([]);
  });

  it("stops at once though a receiver is slow to answer, leaving the notification for the next start", async () => {
    receiver.delayMs = 60_000;
    const targets = [parseNotifyTarget(receiver.url)];
    sender = createNotificationSender({ ...quick, outbox, targets });
    await sender.enqueue(notificationOf("run-1"));
    // Let the attempt start: it then waits a minute for the answer, unless close aborts it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sender.close();
    sender = undefined;
    expect(await outbox.counts()).to.deep.equal({ pending: 1, delivered: 0, abandoned: 0 });
  });

  it("records nothing without receivers", async () => {
    sender = createNotificationSender({ ...quick, outbox, targets: [] });
    await sender.enqueue(notificationOf("run-1"));
    expect(await outbox.counts()).to.deep.equal({ pending: 0, delivered: 0, abandoned: 0 });
  });
});
