import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import type { AccountLeases } from "./account-leases.js";
import { createPostgresAccountLeases } from "./postgres-account-leases.js";
import { openPostgresRunStore } from "./postgres-run-store.js";
import { accepted } from "./run-store.contract.js";

describe("PostgreSQL account leases", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  let url: string;
  const closing: (() => Promise<void>)[] = [];
  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());
  beforeEach(async () => {
    url = await server.createDatabase();
  });
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((close) => close()));
  });

  /** A replica's leases on its own pool; `die` ends the pool, as the replica's process would. */
  const replica = async (name: string, brokerClient: number, leaseMs = 600) => {
    const store = await openPostgresRunStore(parseDatabaseUrl(url));
    const leases = createPostgresAccountLeases({
      pool: store.pool,
      replica: name,
      brokerClient,
      leaseMs,
    });
    let dead = false;
    closing.push(async () => {
      if (dead) return;
      await leases.close();
      await store.close();
    });
    const die = () => {
      dead = true;
      return store.close();
    };
    return { leases, die, store };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("lets one replica hold an account at a time, however many race for it", async () => {
    const replicas: AccountLeases[] = [];
    for (let i = 0; i < 4; i++) replicas.push((await replica(`r${i}`, i)).leases);
    const won = await Promise.all(
      replicas.flatMap((leases) => [1, 2, 3].map(() => leases.acquire("DU1", "run"))),
    );
    expect(won.filter(Boolean)).to.have.length(1);
  });

  it("keeps the account while the heartbeat renews it, and frees it when the holder releases it", async () => {
    const a = await replica("a", 1);
    const b = await replica("b", 2);
    const first = await a.leases.acquire("DU1", "run");
    expect(first).to.deep.include({ accountId: "DU1", brokerClient: 1 });
    await sleep(1500); // longer than the 600 ms lease: renewed meanwhile
    expect(await b.leases.acquire("DU1", "run"), "still held").to.equal(undefined);
    await a.leases.release("DU1");
    const second = await b.leases.acquire("DU1", "run");
    expect(second?.token, "a new token at each acquisition").to.equal(first!.token + 1);
    expect(second?.brokerClient).to.equal(2);
  });

  it("frees a dead replica's account within the lease time, and keeps its broker client for a resume", async () => {
    const a = await replica("a", 1);
    const b = await replica("b", 2);
    const held = await a.leases.acquire("DU1", "run");
    // Its heartbeat dies with its connections: nothing renews or releases the lease.
    const dies = Date.now();
    await a.die();
    let taken;
    while (!(taken = await b.leases.acquire("DU1", "resume"))) await sleep(50);
    expect(Date.now() - dies).to.be.lessThan(1500);
    expect(taken.token).to.equal(held!.token + 1);
    expect(taken.brokerClient, "the client that placed the run's orders").to.equal(1);
    expect(b.leases.held()).to.deep.equal([{ accountId: "DU1", token: taken.token }]);
  });

  it("names the runs left running on accounts no replica holds", async () => {
    const a = await replica("a", 1);
    const b = await replica("b", 2);
    await a.store.begin(accepted("held", "k", "DU1"));
    await a.store.begin(accepted("free", "k", "DU2"));
    await a.store.begin(accepted("expired", "k", "DU3"));
    await a.leases.acquire("DU1", "run");
    await a.leases.acquire("DU3", "run");
    expect(await b.leases.orphans()).to.deep.equal(["free"]);
    await a.die();
    await until(async () => (await b.leases.orphans()).length === 3, 3000, "leases expired");
  });

  it("tells a replica it no longer holds an account taken over while it was paused", async () => {
    const a = await replica("a", 1);
    const b = await replica("b", 2);
    await a.leases.acquire("DU1", "run");
    expect(await a.leases.holds("DU1")).to.equal(true);
    expect(await b.leases.holds("DU1"), "never taken by b").to.equal(false);
    // As if a had been paused past its lease: expired, and taken by b before a's heartbeat ran.
    await a.store.pool.query(
      "UPDATE account_leases SET expires_at = now() - interval '1 second' WHERE account_id = 'DU1'",
    );
    expect(await b.leases.acquire("DU1", "run")).to.not.equal(undefined);
    expect(await a.leases.holds("DU1")).to.equal(false);
    expect(await b.leases.holds("DU1")).to.equal(true);
    await b.leases.release("DU1");
    expect(await b.leases.holds("DU1"), "released").to.equal(false);
  });
});
