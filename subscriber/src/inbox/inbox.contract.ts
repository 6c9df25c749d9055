import { expect } from "chai";
import type { Inbox, InboxRetention, NewEntry } from "./inbox.js";

/** An inbox under test, and a way to open its database again as a restart would. */
export interface InboxHarness {
  inbox: Inbox;
  /** Closes the inbox and opens the same database again, with these retention limits. */
  reopen(retention?: InboxRetention): Promise<Inbox>;
  /** Closes the inbox and removes its database. */
  destroy(): Promise<void>;
}

/** A pending entry of DU1 on channel s1; fields overridden as given. */
export function newEntry(overrides: Partial<NewEntry> = {}): NewEntry {
  return {
    accountId: "DU1",
    channel: "s1",
    eventKey: "e-1",
    messageId: "m:0",
    eventId: "e-1",
    source: "realtime",
    command: "rebalance",
    payload: '{"exec":"rebalance","eventId":"e-1"}',
    state: "pending",
    reason: "",
    publishedAt: 1000,
    receivedAt: 2000,
    ...overrides,
  };
}

/**
 * The behaviour every Inbox must have, as mocha specs: run it against each implementation
 * (`describeInboxContract("PostgreSQL inbox", openPostgresHarness)`).
 */
export function describeInboxContract(name: string, openHarness: () => Promise<InboxHarness>) {
  describe(`${name} (inbox contract)`, () => {
    let harness: InboxHarness;
    let inbox: Inbox;
    beforeEach(async () => {
      harness = await openHarness();
      inbox = harness.inbox;
    });
    afterEach(() => harness.destroy());

    it("records an event once per account, however often it arrives", async () => {
      const first = await inbox.record([newEntry(), newEntry({ accountId: "DU2" })]);
      const again = await inbox.record([newEntry({ messageId: "other:0", source: "webhook" })]);
      expect(first.map((e) => e.accountId)).to.deep.equal(["DU1", "DU2"]);
      expect(again).to.have.length(0);
      expect((await inbox.counts()).pending).to.equal(2);
    });

    it("returns the new entries in the order they were given, with every field", async () => {
      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const added = await inbox.record([
        newEntry({ accountId: "DU9", traceparent, tracestate: "a=1" }),
        newEntry({ accountId: "DU1" }),
      ]);
      expect(added.map((e) => e.accountId)).to.deep.equal(["DU9", "DU1"]);
      expect(added[0]).to.deep.include({
        channel: "s1",
        eventKey: "e-1",
        messageId: "m:0",
        eventId: "e-1",
        source: "realtime",
        command: "rebalance",
        state: "pending",
        attempts: 0,
        generation: 0,
        publishedAt: 1000,
        receivedAt: 2000,
        ageFrom: 2000,
        nextAttemptAt: 2000,
        runId: "",
        traceparent,
        tracestate: "a=1",
      });
      expect(await inbox.get(added[0]!.id)).to.deep.equal(added[0]);
    });

    it("keeps its entries across a restart", async () => {
      const [added] = await inbox.record([newEntry()]);
      inbox = await harness.reopen();
      expect(await inbox.get(added!.id)).to.deep.equal(added);
    });

    it("hands out only due entries of accounts that are not busy", async () => {
      await inbox.record([newEntry(), newEntry({ accountId: "DU2", eventKey: "e-2" })]);
      const first = await inbox.claimNext(Date.now(), new Set());
      expect(first?.state).to.equal("in_flight");
      const second = await inbox.claimNext(Date.now(), new Set([first!.accountId]));
      expect(second?.accountId).to.not.equal(first!.accountId);
      expect(await inbox.claimNext(Date.now(), new Set())).to.equal(undefined);
      await inbox.reschedule(first!.id, { at: Date.now() + 60_000, reason: "later" });
      expect(await inbox.claimNext(Date.now(), new Set())).to.equal(undefined);
      expect(await inbox.nextDueAt()).to.be.greaterThan(Date.now());
    });

    it("delivers one entry of an account at a time, oldest first, whoever asks", async () => {
      await inbox.record([
        newEntry({ eventKey: "e-1", receivedAt: 1000 }),
        newEntry({ eventKey: "e-2", receivedAt: 2000 }),
      ]);
      const first = await inbox.claimNext(Date.now(), new Set());
      expect(first?.eventKey).to.equal("e-1");
      expect(await inbox.claimNext(Date.now(), new Set()), "DU1 is in flight").to.equal(undefined);
      expect(await inbox.nextDueAt(), "nothing due while DU1 is in flight").to.equal(undefined);
      await inbox.complete(first!.id, { runId: "r-1", result: "COMPLETED" });
      expect(await inbox.nextDueAt()).to.equal(2000);
      expect((await inbox.claimNext(Date.now(), new Set()))?.eventKey).to.equal("e-2");
      expect(await inbox.get(first!.id)).to.include({
        state: "done",
        runId: "r-1",
        result: "COMPLETED",
      });
    });

    it("counts attempts and postpones a run as a new run with a fresh age", async () => {
      const [added] = await inbox.record([newEntry()]);
      const claimed = await inbox.claimNext(Date.now(), new Set());
      await inbox.countAttempt(claimed!.id);
      await inbox.reschedule(claimed!.id, {
        at: 90_000,
        reason: "market closed",
        runId: "r-1",
        newRun: true,
      });
      expect(await inbox.get(added!.id)).to.include({
        state: "pending",
        attempts: 1,
        generation: 1,
        ageFrom: 90_000,
        nextAttemptAt: 90_000,
        reason: "market closed",
        runId: "r-1",
      });
    });

    it("re-drives only dead entries, as a new run with a fresh age", async () => {
      const [added] = await inbox.record([newEntry()]);
      expect(await inbox.redrive(added!.id, 5000)).to.equal(false);
      await inbox.claimNext(Date.now(), new Set());
      await inbox.kill(added!.id, "permission denied");
      expect((await inbox.list({ state: "dead" }))[0]?.reason).to.equal("permission denied");
      expect(await inbox.redrive(added!.id, 5000)).to.equal(true);
      const redriven = await inbox.get(added!.id);
      expect(redriven).to.include({ state: "pending", generation: 1, ageFrom: 5000, reason: "" });
    });

    it("discards only dead entries, keeping them with their reason and their event key taken", async () => {
      const [added] = await inbox.record([newEntry()]);
      expect(await inbox.discard(added!.id, 5000), "pending").to.equal(false);
      await inbox.claimNext(Date.now(), new Set());
      await inbox.kill(added!.id, "permission denied");
      expect(await inbox.discard(added!.id + 1000, 5000), "no such entry").to.equal(false);
      expect(await inbox.discard(added!.id, 6000)).to.equal(true);
      expect(await inbox.get(added!.id)).to.include({
        state: "discarded",
        reason: "permission denied",
        updatedAt: 6000,
      });
      expect(await inbox.redrive(added!.id, 7000), "discarded is final").to.equal(false);
      expect(await inbox.discard(added!.id, 7000), "once").to.equal(false);
      expect(await inbox.record([newEntry()]), "the event stays recorded").to.have.length(0);
      expect((await inbox.counts()).discarded).to.equal(1);
      expect(await inbox.claimNext(Date.now(), new Set())).to.equal(undefined);
    });

    it("lists newest first a page at a time, of one state or all", async () => {
      const added = await inbox.record(
        [1, 2, 3, 4, 5].map((i) => newEntry({ eventKey: `e-${i}`, accountId: `DU${i}` })),
      );
      const ids = added.map((e) => e.id).reverse();
      const first = await inbox.list({ limit: 2 });
      expect(first.map((e) => e.id)).to.deep.equal(ids.slice(0, 2));
      const second = await inbox.list({ limit: 2, beforeId: first.at(-1)!.id });
      expect(second.map((e) => e.id)).to.deep.equal(ids.slice(2, 4));
      const last = await inbox.list({ limit: 2, beforeId: second.at(-1)!.id });
      expect(last.map((e) => e.id)).to.deep.equal(ids.slice(4));
      await inbox.claimNext(Date.now(), new Set());
      const pending = await inbox.list({ state: "pending", beforeId: ids[1] });
      expect(pending.map((e) => e.id)).to.deep.equal(ids.slice(2, 4));
    });

    it("records rejected payloads with their reason and remembers the channel's last realtime message", async () => {
      await inbox.record([
        newEntry({
          accountId: "",
          state: "rejected",
          reason: "payload is not JSON",
          publishedAt: 7,
          receivedAt: Date.now(),
        }),
      ]);
      expect((await inbox.list({ state: "rejected" }))[0]?.reason).to.equal("payload is not JSON");
      expect(await inbox.lastPublishedAt("s1")).to.equal(7);
      expect(await inbox.lastPublishedAt("nothing")).to.equal(undefined);
      await inbox.record([newEntry({ eventKey: "e-9", source: "http", publishedAt: 99 })]);
      expect(await inbox.lastPublishedAt("s1")).to.equal(7);
    });

    it("keeps rejected entries within the retention limits, deleting the oldest", async () => {
      inbox = await harness.reopen({ rejectedKeep: 3, rejectedMaxAgeMs: 60_000 });
      const rejected = (i: number, receivedAt = Date.now()) =>
        newEntry({
          accountId: "",
          eventKey: `junk-${i}`,
          state: "rejected",
          reason: "x",
          receivedAt,
        });
      await inbox.record([rejected(0, Date.now() - 120_000)]);
      await inbox.record([newEntry({ eventKey: "good", receivedAt: Date.now() - 120_000 })]);
      for (let i = 1; i <= 5; i++) await inbox.record([rejected(i)]);
      const kept = await inbox.list({ state: "rejected" });
      expect(kept.map((e) => e.eventKey)).to.deep.equal(["junk-5", "junk-4", "junk-3"]);
      // Retention is for junk only: an old pending entry stays.
      expect((await inbox.counts()).pending).to.equal(1);
    });

    it("finds the entry recorded for an account and event key", async () => {
      await inbox.record([newEntry({ command: "dry-run" })]);
      expect(await inbox.find("DU1", "e-1")).to.include({ command: "dry-run", state: "pending" });
      expect(await inbox.find("DU2", "e-1")).to.equal(undefined);
    });

    it("lists entries newest first, of one state when asked, and counts every state", async () => {
      const [a, b, c] = await inbox.record([
        newEntry({ accountId: "DU1" }),
        newEntry({ accountId: "DU2" }),
        newEntry({ accountId: "DU3" }),
      ]);
      await inbox.claimNext(Date.now(), new Set(["DU1", "DU3"]));
      await inbox.kill(b!.id, "refused");
      expect((await inbox.list()).map((e) => e.id)).to.deep.equal([c!.id, b!.id, a!.id]);
      expect((await inbox.list({ state: "pending", limit: 1 })).map((e) => e.id)).to.deep.equal([
        c!.id,
      ]);
      expect(await inbox.counts()).to.deep.equal({
        pending: 2,
        in_flight: 0,
        done: 0,
        dead: 1,
        rejected: 0,
        discarded: 0,
      });
    });

    it("names the entry waiting longest, not counting runs postponed to later", async () => {
      expect(await inbox.oldestWaiting(10_000)).to.equal(undefined);
      const [a, b] = await inbox.record([
        newEntry({ receivedAt: 3000 }),
        newEntry({ accountId: "DU2", receivedAt: 4000 }),
      ]);
      expect((await inbox.oldestWaiting(10_000))?.id).to.equal(a!.id);
      await inbox.claimNext(Date.now(), new Set());
      await inbox.claimNext(Date.now(), new Set());
      expect((await inbox.oldestWaiting(10_000))?.id, "in flight: still waiting").to.equal(a!.id);
      await inbox.reschedule(a!.id, { at: 50_000, reason: "market closed", newRun: true });
      expect((await inbox.oldestWaiting(10_000))?.id, "postponed until 50 s").to.equal(b!.id);
      await inbox.complete(b!.id, { runId: "r", result: "ok" });
      expect(await inbox.oldestWaiting(10_000)).to.equal(undefined);
      expect((await inbox.oldestWaiting(60_000))?.id).to.equal(a!.id);
    });

    it("says it can write", async () => {
      await inbox.checkWritable();
      await inbox.checkWritable();
    });
  });
}
