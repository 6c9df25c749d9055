import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { expect } from "chai";
import pg from "pg";
import { openPostgresRunStore } from "./postgres-run-store.js";
import { accepted, describeRunStoreContract, next } from "./run-store.contract.js";
import { LeaseLost } from "./run-fence.js";
import type { RunStore } from "./run-store.js";

describe("the PostgreSQL run store", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());

  describeRunStoreContract("PostgreSQL run store", async () => {
    const url = parseDatabaseUrl(await server.createDatabase());
    let store: RunStore = await openPostgresRunStore(url);
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await openPostgresRunStore(url);
        return store;
      },
      destroy: () => store.close(),
    };
  });

  it("creates its tables once when two replicas start at the same time", async () => {
    const url = parseDatabaseUrl(await server.createDatabase());
    const [a, b] = await Promise.all([openPostgresRunStore(url), openPostgresRunStore(url)]);
    await a.begin(accepted("r1", "k"));
    expect((await b.get("r1"))?.runId).to.equal("r1");
    const { rows } = await a.pool.query(
      "SELECT version FROM schema_migrations WHERE service = 'rebalancer' ORDER BY version",
    );
    expect(rows.map((r: { version: number }) => r.version)).to.deep.equal([1, 2]);
    await Promise.all([a.close(), b.close()]);
  });

  it("makes positions readable in order while replicas append at once: a reader following them misses none", async () => {
    const url = parseDatabaseUrl(await server.createDatabase());
    const [a, b] = await Promise.all([openPostgresRunStore(url), openPostgresRunStore(url)]);
    try {
      const runs = Array.from({ length: 8 }, (_, i) => `r${i}`);
      for (const runId of runs) await a.begin(accepted(runId, runId));
      let writing = true;
      const followed: number[] = [];
      const reader = (async () => {
        for (let position = 0; ;) {
          const read = await b.eventsAfter(position, 25);
          followed.push(...read.map((e) => e.position));
          position = read.at(-1)?.position ?? position;
          if (read.length === 0 && !writing) return;
        }
      })();
      // Each run's events in order, the runs at once, over both stores' connections.
      await Promise.all(
        runs.map(async (runId, i) => {
          const store = i % 2 === 0 ? a : b;
          for (let sequence = 2; sequence <= 30; sequence++) {
            await store.appendEvent(
              next(runId, sequence, { kind: "phaseStarted", phase: "planning" }),
            );
          }
        }),
      );
      writing = false;
      await reader;
      const all = (await a.eventsAfter(0, 10_000)).map((e) => e.position);
      expect(all).to.have.length(8 * 30);
      expect(followed, "the follower saw every position, in order").to.deep.equal(all);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("writes a run only while its account's lease is held with the current fencing token", async () => {
    const url = parseDatabaseUrl(await server.createDatabase());
    const held: { accountId: string; token: number }[] = [];
    const store = await openPostgresRunStore(url, { fence: { held: () => held } });
    const admin = new pg.Client({ connectionString: url.url });
    await admin.connect();
    try {
      const lease = (token: number) =>
        admin.query(
          `INSERT INTO account_leases VALUES ('DU1', 'a', 1, $1, now() + interval '10 s')
           ON CONFLICT (account_id) DO UPDATE SET token = $1`,
          [token],
        );
      await lease(1);
      const refused = await store.begin(accepted("r1", "k")).catch((err: Error) => err);
      expect(refused, "no lease held").to.be.instanceOf(LeaseLost);
      held.push({ accountId: "DU1", token: 1 });
      expect((await store.begin(accepted("r1", "k"))).created).to.equal(true);
      await store.appendEvent(next("r1", 2, { kind: "phaseStarted", phase: "reading_account" }));
      // Another replica took the account over: its token moved on, this one's writes stop.
      await lease(2);
      const late = await store
        .appendEvent(next("r1", 3, { kind: "phaseStarted", phase: "planning" }))
        .catch((err: Error) => err);
      expect(late).to.be.instanceOf(LeaseLost);
      const run = await store.get("r1");
      expect(await store.finish(run!).catch((err: Error) => err)).to.be.instanceOf(LeaseLost);
      expect((await store.events("r1")).map((e) => e.sequence)).to.deep.equal([1, 2]);
      expect(store.health().ok, "a fenced write is not a database failure").to.equal(true);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
