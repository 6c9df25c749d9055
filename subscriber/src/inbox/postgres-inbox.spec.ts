import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import pg from "pg";
import { describeGapStoreContract } from "./gap-store.contract.js";
import type { Inbox, InboxRetention } from "./inbox.js";
import { describeInboxContract, newEntry, type InboxHarness } from "./inbox.contract.js";
import { openPostgresInbox, type PostgresInboxOptions } from "./postgres-inbox.js";

describe("PostgreSQL inbox", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());

  /** A fresh database per test; reopening keeps it, as a restart would. */
  const openHarness = async (options: PostgresInboxOptions = {}): Promise<InboxHarness> => {
    const url = await server.createDatabase();
    let inbox: Inbox = await openPostgresInbox(url, options);
    return {
      inbox,
      reopen: async (retention?: InboxRetention) => {
        await inbox.close();
        inbox = await openPostgresInbox(url, { ...options, ...retention });
        return inbox;
      },
      destroy: () => inbox.close(),
    };
  };

  describeInboxContract("PostgreSQL inbox", () => openHarness());
  describeGapStoreContract("PostgreSQL gap store", async () => {
    const harness = await openHarness();
    return {
      store: harness.inbox.gaps,
      reopen: async () => (await harness.reopen()).gaps,
      destroy: harness.destroy,
    };
  });

  describe("claims", () => {
    let url: string;
    const opened: Inbox[] = [];
    const open = async (options: PostgresInboxOptions = {}) => {
      const inbox = await openPostgresInbox(url, options);
      opened.push(inbox);
      return inbox;
    };
    /** The claim columns of an entry, read behind the inbox's back. */
    const claimOf = async (id: number) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          "SELECT state, claim::int, claimed_by FROM inbox WHERE id = $1",
          [id],
        );
        return rows[0] as { state: string; claim: number; claimed_by: string };
      } finally {
        await client.end();
      }
    };
    beforeEach(async () => {
      url = await server.createDatabase();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((inbox) => inbox.close()));
    });

    it("creates its tables once when two replicas start at the same time", async () => {
      const [a, b] = await Promise.all([open(), open()]);
      await a!.record([newEntry()]);
      expect((await b!.counts()).pending).to.equal(1);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query(
        "SELECT version, name FROM schema_migrations WHERE service = 'subscriber'",
      );
      await client.end();
      expect(rows).to.deep.equal([
        { version: 1, name: "inbox" },
        { version: 2, name: "discarded" },
      ]);
    });

    it("names the replica holding a claim and renews it while the replica lives", async () => {
      const inbox = await open({ claimTimeoutMs: 600, replica: "replica-a" });
      const other = await open({ claimTimeoutMs: 600 });
      const [added] = await inbox.record([newEntry()]);
      const claimed = await inbox.claimNext(Date.now(), new Set());
      expect(await claimOf(claimed!.id)).to.deep.include({
        state: "in_flight",
        claimed_by: "replica-a",
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await other.claimNext(Date.now(), new Set()), "renewed: still held").to.equal(
        undefined,
      );
      expect(await other.recoverInFlight(), "not interrupted").to.equal(0);
      await inbox.complete(added!.id, { runId: "r-1", result: "COMPLETED" });
      expect(await inbox.get(added!.id)).to.include({ state: "done", runId: "r-1" });
    });

    it("hands its claims back at once when it closes", async () => {
      const leaving = await openPostgresInbox(url, { claimTimeoutMs: 60_000 });
      const staying = await open({ claimTimeoutMs: 60_000 });
      const [added] = await leaving.record([newEntry()]);
      await leaving.claimNext(Date.now(), new Set());
      await leaving.close();
      expect((await staying.claimNext(Date.now(), new Set()))?.id).to.equal(added!.id);
    });

    it("wakes every watching replica when an entry is recorded or re-driven", async () => {
      const watcher = await open();
      const writer = await open();
      let wakes = 0;
      const stop = watcher.watch(() => wakes++);
      // A connect counts as a wake-up (notifications may have been missed before it).
      await until(() => wakes > 0, 5000, "listening");
      const before = wakes;
      const [added] = await writer.record([newEntry()]);
      await until(() => wakes > before, 5000, "woken by the record");
      await writer.record([newEntry()]);
      await writer.record([newEntry({ accountId: "", state: "rejected", eventKey: "junk" })]);
      await writer.claimNext(Date.now(), new Set());
      await writer.kill(added!.id, "refused");
      const quiet = wakes;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(wakes, "nothing new to deliver: no wake-up").to.equal(quiet);
      expect(await writer.redrive(added!.id, Date.now())).to.equal(true);
      await until(() => wakes > quiet, 5000, "woken by the re-drive");
      stop();
    });
  });
});
