import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import type { Inbox } from "../../src/inbox/inbox.js";
import { newEntry } from "../../src/inbox/inbox.contract.js";
import { openPostgresInbox } from "../../src/inbox/postgres-inbox.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import {
  getJson,
  postEvent,
  scratchDir,
  testConfig,
  testLogger,
} from "../support/test-subscriber.js";

describe("delivery from an inbox in PostgreSQL", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let url: string;
  const running: (Subscriber | Inbox)[] = [];
  const start = async (
    delivery: NonNullable<Parameters<typeof testConfig>[2]>["delivery"] = {},
  ) => {
    const subscriber = await startSubscriber(
      testConfig(scratch.dir, rebalancer.url, { databaseUrl: url, delivery }),
      { logger: testLogger },
    );
    running.push(subscriber);
    return subscriber;
  };

  beforeEach(async () => {
    server = await startTestPostgres();
    url = await server.createDatabase();
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    for (const closable of running.splice(0)) await closable.close();
    await rebalancer.stop();
    await server.stop();
    scratch.remove();
  });

  it("wakes an idle replica as soon as another records an entry, not at its next poll", async () => {
    // Its poll would come only after 10 s: a delivery sooner was woken by the notification.
    await start({ pollIntervalMs: 10_000 });
    const elsewhere = await openPostgresInbox(url);
    running.push(elsewhere);
    // Let the replica's first look at the inbox pass and its listener connect.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const recordedAt = Date.now();
    await elsewhere.record([newEntry({ accountId: "DU003", channel: "s2", eventKey: "woken" })]);
    await until(() => rebalancer.requests.length === 1, 5000, "delivered");
    expect(Date.now() - recordedAt).to.be.below(2000);
    expect(rebalancer.requests[0]!.idempotencyKey).to.equal("woken/DU003");
  });

  it("says the inbox cannot record and refuses events while the database is down", async () => {
    const subscriber = await start();
    expect((await getJson(`${subscriber.url}/health`)).status).to.equal(200);
    await server.stop();
    const health = await getJson(`${subscriber.url}/health`);
    expect(health.status).to.equal(503);
    expect(health.body).to.deep.include({ status: "failing" });
    expect((health.body.problems as string[]).join("\n")).to.match(/inbox cannot record/);
    const refused = await postEvent(subscriber.url, "s2", { exec: "rebalance", eventId: "down" });
    // A 5xx: the sender keeps the event and sends it again.
    expect(refused).to.deep.include({
      status: 500,
      body: { error: "internal error; the message was not recorded" },
    });
    expect(rebalancer.requests).to.have.length(0);
  });
});
