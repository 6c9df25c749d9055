import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createLogger } from "@mesh/platform/logger";
import type { Notification } from "@mesh/platform/notify/notification";
import { parseNotifyTarget } from "@mesh/platform/notify/notify-target";
import { openPostgresNotificationOutbox } from "@mesh/platform/notify/postgres-notification-outbox";
import { openSqliteNotificationOutbox } from "@mesh/platform/notify/sqlite-notification-outbox";
import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { startTestPostgres } from "@mesh/platform/testing/test-postgres";
import {
  startNotificationReceiver,
  type NotificationReceiver,
} from "@mesh/platform/testing/notification-receiver";
import { until } from "@mesh/platform/testing/until";
import {
  ExecutionMode,
  RebalancerService,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RebalancerAppOptions, type RunningRebalancer } from "../src/app.js";
import { createSimBroker, type SimBrokerOptions } from "../src/broker/sim/sim-broker.js";

const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

/** Quick retries: a receiver that comes back is tried again within a few hundred ms. */
const quickRetries = { initialRetryDelayMs: 50, maxRetryDelayMs: 300, timeoutMs: 2000 };

async function collect(stream: AsyncIterable<RebalanceResponse>): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Log lines written by the rebalancer, as text. */
function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { lines, logger: createLogger({ name: "rebalancer", level: "debug", destination }) };
}

describe("run notifications", function () {
  this.timeout(30_000);
  let dataDir: string;
  let receiver: NotificationReceiver;
  let app: RunningRebalancer | undefined;
  let client: Client<typeof RebalancerService>;

  const start = async (
    urls: string[],
    broker: SimBrokerOptions = {},
    extra: Partial<RebalancerAppOptions> = {},
  ) => {
    app = await startRebalancer({
      accountsFile,
      dataDir,
      broker: createSimBroker({ fillDelayMs: 5, ...broker }),
      notify: { targets: urls.map(parseNotifyTarget), ...quickRetries },
      ...extra,
    });
    client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    return app;
  };
  const run = (accountId: string, mode = ExecutionMode.LIVE, key = `${accountId}-${Date.now()}`) =>
    collect(
      client.rebalance({
        accountId,
        mode,
        idempotencyKey: key,
        trigger: { source: "ably", eventId: `evt-${key}`, channel: "etf-blend-301-20" },
      }),
    );
  /** The outbox's rows by state, read through a connection of the test's own. */
  const outboxCounts = async () => {
    const outbox = openSqliteNotificationOutbox(join(dataDir, "notifications.sqlite"));
    try {
      return await outbox.counts();
    } finally {
      await outbox.close();
    }
  };
  /** Waits until nothing is left to deliver, then gives the JSON bodies received. */
  const settled = async (expected: number) => {
    await until(async () => (await outboxCounts()).delivered >= expected, 10_000, "delivered");
    expect(await outboxCounts()).to.deep.equal({ pending: 0, delivered: expected, abandoned: 0 });
    return receiver.json<Notification>();
  };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "notify-"));
    receiver = await startNotificationReceiver();
  });
  afterEach(async () => {
    await app?.close(1000);
    app = undefined;
    await receiver.stop();
  });

  it("posts one JSON notification for a finished live run, with its fields and console link, and none for a dry run", async () => {
    await start([`${receiver.url}/hook`]);
    const events = await run("DU1000001", ExecutionMode.DRY_RUN, "preview-1");
    expect(events.at(-1)!.event.case).to.equal("completed");
    const live = await run("DU1000001", ExecutionMode.LIVE, "live-1");
    expect(live.at(-1)!.event.case).to.equal("completed");
    const runId = live[0]!.runId;

    const [notification, ...more] = await settled(1);
    expect(more).to.deep.equal([]);
    expect(receiver.received[0]!.path).to.equal("/hook");
    expect(receiver.received[0]!.headers["content-type"]).to.equal("application/json");
    expect(receiver.received[0]!.headers["idempotency-key"]).to.equal(`${runId}:completed`);
    const run1 = await client.getRun({ runId });
    expect(notification).to.deep.include({
      id: `${runId}:completed`,
      kind: "run",
      runId,
      accountId: "DU1000001",
      mode: "live",
      status: "completed",
      failureReason: "",
      title: "DU1000001: live run completed",
      message: run1.run!.message,
      ordersPlaced: run1.run!.orders.length,
      ordersFilled: run1.run!.orders.length,
      consoleUrl: `${app!.url}/console/#/runs/${runId}`,
    });
    expect(notification!.ordersPlaced).to.be.greaterThan(0);
    expect(notification!.trigger).to.deep.equal({
      source: "ably",
      eventId: "evt-live-1",
      channel: "etf-blend-301-20",
    });
  });

  it("notifies dry runs too with dryRuns, and links to CONSOLE_URL when set", async () => {
    await start(
      [],
      {},
      {
        notify: {
          targets: [parseNotifyTarget(receiver.url)],
          dryRuns: true,
          consoleUrl: "https://ops.example.com/console/",
          ...quickRetries,
        },
      },
    );
    const events = await run("DU1000001", ExecutionMode.DRY_RUN, "preview-2");
    const [notification] = await settled(1);
    expect(notification).to.deep.include({
      mode: "dry_run",
      status: "completed",
      consoleUrl: `https://ops.example.com/console/#/runs/${events[0]!.runId}`,
    });
  });

  it("posts one notification for a failed run, with its failure reason", async () => {
    await start([receiver.url], { rejections: () => "no trading permission" });
    const events = await run("DU1000001");
    expect(events.at(-1)!.event.case).to.equal("failed");
    const runId = events[0]!.runId;
    const [notification, ...more] = await settled(1);
    expect(more).to.deep.equal([]);
    const record = (await client.getRun({ runId })).run!;
    expect(notification).to.deep.include({
      id: `${runId}:failed`,
      status: "failed",
      failureReason: "order_rejected",
      title: "DU1000001: live run failed (order_rejected)",
      message: record.message,
      ordersFilled: 0,
    });
    expect(notification!.ordersPlaced).to.be.greaterThan(0);
  });

  it("posts one notification for a postponed run, naming when it will be tried again", async () => {
    const nextOpen = new Date(Date.now() + 3_600_000);
    await start([receiver.url], {
      marketHours: {
        description: "closed",
        session: (symbol) => ({ symbol, open: false, nextOpen }),
      },
    });
    const events = await run("DU1000001");
    expect(events.at(-1)!.event.case).to.equal("postponed");
    const [notification, ...more] = await settled(1);
    expect(more).to.deep.equal([]);
    expect(notification).to.deep.include({
      id: `${events[0]!.runId}:postponed`,
      status: "postponed",
      ordersPlaced: 0,
      title: `DU1000001: live run postponed until ${nextOpen.toISOString()}`,
    });
  });

  it("delivers every notification exactly once to a receiver that was down and came back", async () => {
    await receiver.stop();
    const { lines, logger } = capturedLogger();
    await start([receiver.url], {}, { logger });
    const runIds: string[] = [];
    for (const accountId of ["DU1000001", "DU1000002", "DU1000001"]) {
      const events = await run(accountId);
      expect(events.at(-1)!.event.case).to.match(/^completed/);
      runIds.push(events[0]!.runId);
    }
    // Refused connections are retried, with backoff, for as long as the receiver is down.
    await until(() => lines.filter((l) => l.includes("will retry")).length >= 6, 10_000);
    expect(lines.some((l) => l.includes("ECONNREFUSED"))).to.equal(true);
    expect(await outboxCounts()).to.include({ pending: 3, delivered: 0 });
    await receiver.start();
    const received = await settled(3);
    expect(received.map((n) => n.runId)).to.deep.equal(runIds);
    expect(new Set(received.map((n) => n.id)).size).to.equal(3);
  });

  it("delivers after a restart what was not delivered before it", async () => {
    await receiver.stop();
    await start([receiver.url]);
    const events = await run("DU1000002");
    await until(async () => (await outboxCounts()).pending === 1);
    await app!.close(1000);
    app = undefined;
    expect(receiver.received).to.deep.equal([]);

    await receiver.start();
    await start([receiver.url]);
    const [notification, ...more] = await settled(1);
    expect(more).to.deep.equal([]);
    expect(notification!.runId).to.equal(events[0]!.runId);
  });

  it("speaks ntfy's and Slack's forms to such receivers, credentials as a Basic header", async () => {
    await start(
      [
        `ntfy+http://${receiver.url.slice(7)}/rebalancer-alerts`,
        `slack+${receiver.url}/services/T0000/B0000/XXXXXXXXXXXXXXXX`,
        `http://ops:s3cret-pass@${receiver.url.slice(7)}/json?token=t0ken-value`,
      ],
      { rejections: () => "no trading permission" },
    );
    const events = await run("DU1000001");
    const runId = events[0]!.runId;
    await until(async () => (await outboxCounts()).delivered === 3, 10_000);
    const byPath = (prefix: string) => receiver.received.find((r) => r.path.startsWith(prefix))!;

    const ntfy = byPath("/rebalancer-alerts");
    expect(ntfy.headers).to.include({
      title: "DU1000001: live run failed (order_rejected)",
      priority: "high",
      tags: "rotating_light,failed,live,DU1000001",
      click: `${app!.url}/console/#/runs/${runId}`,
    });
    expect(ntfy.headers["content-type"]).to.match(/^text\/plain/);
    expect(ntfy.body).to.contain("orders: ").and.contain(`/console/#/runs/${runId}`);

    const slack = JSON.parse(byPath("/services/").body) as { text: string };
    expect(Object.keys(slack)).to.deep.equal(["text"]);
    expect(slack.text).to.match(
      /^\*<http:\/\/.+\/console\/#\/runs\/run-[^|]+\|DU1000001: live run failed \(order_rejected\)>\*\n/,
    );

    const json = byPath("/json?token=t0ken-value");
    expect(json.headers.authorization).to.equal(
      `Basic ${Buffer.from("ops:s3cret-pass").toString("base64")}`,
    );
    expect((JSON.parse(json.body) as Notification).id).to.equal(`${runId}:failed`);
  });

  it("keeps the secrets of receiver URLs out of its logs", async () => {
    receiver.status = 503;
    // A receiver that echoes what it got, secrets included, in its error.
    receiver.answer = "upstream down for /services/T0000/B0000/XXXXXXXXXXXXXXXX?token=t0ken-value";
    const { lines, logger } = capturedLogger();
    await start(
      [
        `slack+${receiver.url}/services/T0000/B0000/XXXXXXXXXXXXXXXX`,
        `http://ops:s3cret-pass@${receiver.url.slice(7)}/json?token=t0ken-value`,
      ],
      {},
      { logger },
    );
    await run("DU1000001");
    await until(() => lines.filter((l) => l.includes("HTTP 503")).length >= 4, 10_000);
    const text = lines.join("");
    for (const secret of ["XXXXXXXXXXXXXXXX", "t0ken-value", "s3cret-pass"]) {
      expect(text).not.to.contain(secret);
    }
    expect(text).to.contain("[redacted]");
  });

  it("on PostgreSQL keeps the outbox in the shared database: a finished live run is notified once", async () => {
    const server = await startTestPostgres();
    try {
      const url = await server.createDatabase();
      await start([`${receiver.url}/hook`], {}, { databaseUrl: parseDatabaseUrl(url) });
      const live = await run("DU1000001");
      expect(live.at(-1)!.event.case).to.equal("completed");
      const outbox = await openPostgresNotificationOutbox(url);
      try {
        await until(async () => (await outbox.counts()).delivered >= 1, 10_000, "delivered");
        expect(await outbox.counts()).to.deep.equal({ pending: 0, delivered: 1, abandoned: 0 });
      } finally {
        await outbox.close();
      }
      expect(receiver.json<Notification>().map((n) => n.id)).to.deep.equal([
        `${live[0]!.runId}:completed`,
      ]);
      // Nothing went to a SQLite outbox beside it.
      expect(existsSync(join(dataDir, "notifications.sqlite"))).to.equal(false);
    } finally {
      await app?.close(1000);
      app = undefined;
      await server.stop();
    }
  });
});
