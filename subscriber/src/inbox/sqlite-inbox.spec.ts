import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import type { Inbox, NewEntry } from "./inbox.js";
import { openSqliteInbox } from "./sqlite-inbox.js";

function entry(overrides: Partial<NewEntry> = {}): NewEntry {
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

describe("SQLite inbox", () => {
  let dir: string;
  let inbox: Inbox;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "inbox-"));
    inbox = openSqliteInbox(join(dir, "inbox.sqlite"));
  });
  afterEach(async () => {
    await inbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records an event once per account, however often it arrives", async () => {
    const first = await inbox.record([entry(), entry({ accountId: "DU2" })]);
    const again = await inbox.record([entry({ messageId: "other:0", source: "webhook" })]);
    expect(first.map((e) => e.accountId)).to.deep.equal(["DU1", "DU2"]);
    expect(again).to.have.length(0);
    expect((await inbox.counts()).pending).to.equal(2);
  });

  it("keeps entries across a restart and returns interrupted deliveries to pending", async () => {
    await inbox.record([entry()]);
    expect((await inbox.claimNext(Date.now(), new Set()))?.state).to.equal("in_flight");
    await inbox.close();
    inbox = openSqliteInbox(join(dir, "inbox.sqlite"));
    expect(await inbox.recoverInFlight()).to.equal(1);
    expect((await inbox.counts()).pending).to.equal(1);
  });

  it("hands out only due entries of accounts that are not busy", async () => {
    await inbox.record([entry(), entry({ accountId: "DU2", eventKey: "e-2" })]);
    const first = await inbox.claimNext(Date.now(), new Set());
    const second = await inbox.claimNext(Date.now(), new Set([first!.accountId]));
    expect(second?.accountId).to.not.equal(first!.accountId);
    expect(await inbox.claimNext(Date.now(), new Set())).to.equal(undefined);
    await inbox.reschedule(first!.id, { at: Date.now() + 60_000, reason: "later" });
    expect(await inbox.claimNext(Date.now(), new Set())).to.equal(undefined);
    expect(await inbox.nextDueAt()).to.be.greaterThan(Date.now());
  });

  it("re-drives only dead entries, as a new run with a fresh age", async () => {
    const [added] = await inbox.record([entry()]);
    expect(await inbox.redrive(added!.id, 5000)).to.equal(false);
    await inbox.kill(added!.id, "permission denied");
    expect((await inbox.list({ state: "dead" }))[0]?.reason).to.equal("permission denied");
    expect(await inbox.redrive(added!.id, 5000)).to.equal(true);
    const redriven = await inbox.get(added!.id);
    expect(redriven).to.include({ state: "pending", generation: 1, ageFrom: 5000, reason: "" });
  });

  it("adds the trace context columns to an inbox file that predates them, keeping its entries", async () => {
    const file = join(dir, "inbox.sqlite");
    await inbox.record([entry()]);
    await inbox.close();
    const old = new Database(file);
    old.exec("ALTER TABLE inbox DROP COLUMN traceparent; ALTER TABLE inbox DROP COLUMN tracestate");
    old.close();

    inbox = openSqliteInbox(file);
    expect(await inbox.get(1)).to.include({ eventKey: "e-1", traceparent: "", tracestate: "" });
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const [added] = await inbox.record([
      entry({ eventKey: "e-2", traceparent, tracestate: "a=1" }),
    ]);
    expect(await inbox.get(added!.id)).to.include({ traceparent, tracestate: "a=1" });
  });

  it("records rejected payloads with their reason and remembers the channel's last realtime message", async () => {
    await inbox.record([
      entry({
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
    await inbox.record([entry({ eventKey: "e-9", source: "http", publishedAt: 99 })]);
    expect(await inbox.lastPublishedAt("s1")).to.equal(7);
  });

  it("keeps rejected entries within the retention limits, deleting the oldest", async () => {
    await inbox.close();
    inbox = openSqliteInbox(join(dir, "inbox.sqlite"), {
      rejectedKeep: 3,
      rejectedMaxAgeMs: 60_000,
    });
    const rejected = (i: number, receivedAt = Date.now()) =>
      entry({ accountId: "", eventKey: `junk-${i}`, state: "rejected", reason: "x", receivedAt });
    await inbox.record([rejected(0, Date.now() - 120_000)]);
    await inbox.record([entry({ eventKey: "good", receivedAt: Date.now() - 120_000 })]);
    for (let i = 1; i <= 5; i++) await inbox.record([rejected(i)]);
    const kept = await inbox.list({ state: "rejected" });
    expect(kept.map((e) => e.eventKey)).to.deep.equal(["junk-5", "junk-4", "junk-3"]);
    // Retention is for junk only: an old pending entry stays.
    expect((await inbox.counts()).pending).to.equal(1);
  });

  it("finds the entry recorded for an account and event key", async () => {
    await inbox.record([entry({ command: "dry-run" })]);
    expect(await inbox.find("DU1", "e-1")).to.include({ command: "dry-run", state: "pending" });
    expect(await inbox.find("DU2", "e-1")).to.equal(undefined);
  });

  it("names the entry waiting longest, not counting runs postponed to later", async () => {
    expect(await inbox.oldestWaiting(10_000)).to.equal(undefined);
    const [a, b] = await inbox.record([
      entry({ receivedAt: 3000 }),
      entry({ accountId: "DU2", receivedAt: 4000 }),
    ]);
    expect((await inbox.oldestWaiting(10_000))?.id).to.equal(a!.id);
    await inbox.reschedule(a!.id, { at: 50_000, reason: "market closed", newRun: true });
    expect((await inbox.oldestWaiting(10_000))?.id, "postponed until 50 s").to.equal(b!.id);
    await inbox.complete(b!.id, { runId: "r", result: "ok" });
    expect(await inbox.oldestWaiting(10_000)).to.equal(undefined);
    expect((await inbox.oldestWaiting(60_000))?.id).to.equal(a!.id);
  });

  it("says it cannot write while another connection holds the database's write lock", async () => {
    const file = join(dir, "inbox.sqlite");
    await inbox.close();
    inbox = openSqliteInbox(file, { busyTimeoutMs: 50 });
    await inbox.checkWritable();
    const other = new Database(file);
    other.exec("BEGIN IMMEDIATE");
    try {
      const error = await inbox.checkWritable().then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).to.match(/locked/);
      expect((await inbox.counts()).pending, "reads still work").to.equal(0);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    await inbox.checkWritable();
  });
});
