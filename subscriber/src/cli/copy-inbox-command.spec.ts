import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { expect } from "chai";
import { loadConfig, type SubscriberConfig } from "../config.js";
import type { Inbox } from "../inbox/inbox.js";
import { newEntry } from "../inbox/inbox.contract.js";
import { openPostgresInbox } from "../inbox/postgres-inbox.js";
import { openSqliteInbox } from "../inbox/sqlite-inbox.js";
import { copyInboxCommand } from "./copy-inbox-command.js";

describe("copy-inbox: from SQLite to PostgreSQL", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  let dir: string;
  let config: SubscriberConfig;
  let lines: string[];
  const copy = (args: string[] = []) =>
    copyInboxCommand(args, { config, base: dir, write: (line) => lines.push(line) });

  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "copy-inbox-"));
    config = loadConfig({ DATA_DIR: dir, DATABASE_URL: await server.createDatabase() }, dir);
    lines = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A SQLite inbox with an entry in each state, gaps in each state and two marks. */
  const fillSqlite = async () => {
    const inbox = openSqliteInbox(config.inboxFile);
    try {
      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      await inbox.record([
        newEntry({ accountId: "DU1", eventKey: "done" }),
        newEntry({ accountId: "DU2", eventKey: "dead" }),
        newEntry({ accountId: "DU3", eventKey: "in-flight" }),
        newEntry({ accountId: "DU4", eventKey: "pending", traceparent, tracestate: "a=1" }),
        newEntry({
          accountId: "",
          eventKey: "junk",
          state: "rejected",
          reason: "not JSON",
          receivedAt: Date.now(),
        }),
      ]);
      const claimed = async () => (await inbox.claimNext(Date.now(), new Set(["DU4"])))!;
      await inbox.complete((await claimed()).id, { runId: "r-1", result: "COMPLETED" });
      await inbox.kill((await claimed()).id, "permission denied", "r-2");
      await claimed();
      const gaps = inbox.gaps;
      const lost = await gaps.open({
        channel: "s1",
        from: 1000,
        to: 2000,
        cause: "start-up",
        openedAt: 3000,
      });
      await gaps.giveUp(lost.id, { until: 2000, reason: "older than the window", at: 4000 });
      const covered = await gaps.open({
        channel: "s2",
        from: 5000,
        to: 6000,
        cause: "not resumed",
        openedAt: 7000,
      });
      await gaps.cover(covered.id, { recovered: 3, at: 8000 });
      await gaps.open({
        channel: "s2",
        from: 9000,
        to: 9500,
        cause: "not resumed",
        anchorAt: 8900,
        openedAt: 9600,
      });
      return {
        entries: await inbox.list({ limit: 100 }),
        gaps: await gaps.list({ limit: 100 }),
      };
    } finally {
      await inbox.close();
    }
  };

  it("copies entries, dead letters, gaps and marks with their ids, the interrupted delivery pending", async () => {
    const before = await fillSqlite();
    expect(await copy()).to.equal(0);
    expect(lines.join("\n")).to.include("entries: 2 pending, 1 done, 1 dead, 1 rejected");
    expect(lines.join("\n")).to.include("realtime gaps: 3, channel marks: 2");
    expect(lines[0]).to.equal(`copied ${config.inboxFile} into ${config.database!.shown}:`);

    const inbox: Inbox = await openPostgresInbox(config.database!.url);
    try {
      const after = await inbox.list({ limit: 100 });
      expect(after).to.deep.equal(
        before.entries.map((e) => (e.state === "in_flight" ? { ...e, state: "pending" } : e)),
      );
      expect(await inbox.gaps.list({ limit: 100 })).to.deep.equal(before.gaps);
      expect(await inbox.gaps.mark("s1")).to.equal(2000);
      expect(await inbox.gaps.mark("s2")).to.equal(9500);
      // The copy is live data: the dead letter re-drives, the open gap is worked on, new ids follow.
      const dead = after.find((e) => e.state === "dead")!;
      expect(await inbox.redrive(dead.id, Date.now())).to.equal(true);
      const [added] = await inbox.record([newEntry({ eventKey: "after the move" })]);
      expect(added!.id).to.equal(Math.max(...after.map((e) => e.id)) + 1);
      const gap = await inbox.gaps.open({
        channel: "s3",
        from: 1,
        to: 2,
        cause: "start-up",
        openedAt: 3,
      });
      expect(gap.id).to.equal(Math.max(...before.gaps.map((g) => g.id)) + 1);
    } finally {
      await inbox.close();
    }
  });

  it("refuses a database that already holds inbox data, and a second copy", async () => {
    await fillSqlite();
    expect(await copy()).to.equal(0);
    lines = [];
    expect(await copy()).to.equal(1);
    expect(lines.join("\n")).to.match(
      /^refused: the PostgreSQL inbox already holds 5 entries, 3 gaps and 2 marks/,
    );
  });

  it("copies an inbox file older than the trace context and the realtime gaps", async () => {
    const file = join(dir, "old.sqlite");
    const old = new Database(file);
    old.exec(`CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL,
      channel TEXT NOT NULL, event_key TEXT NOT NULL, message_id TEXT NOT NULL,
      event_id TEXT NOT NULL, source TEXT NOT NULL, command TEXT NOT NULL, payload TEXT NOT NULL,
      state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
      generation INTEGER NOT NULL DEFAULT 0, published_at INTEGER NOT NULL,
      received_at INTEGER NOT NULL, age_from INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL, run_id TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '',
      UNIQUE (account_id, event_key));
      INSERT INTO inbox (account_id, channel, event_key, message_id, event_id, source, command,
        payload, state, published_at, received_at, age_from, next_attempt_at, updated_at)
      VALUES ('DU1', 's1', 'old', 'm:0', 'old', 'realtime', 'rebalance', '{}', 'pending',
        1, 2, 2, 2, 2)`);
    old.close();
    expect(await copy(["old.sqlite"])).to.equal(0);
    const inbox = await openPostgresInbox(config.database!.url);
    try {
      expect(await inbox.find("DU1", "old")).to.include({ state: "pending", traceparent: "" });
    } finally {
      await inbox.close();
    }
  });

  it("says what is missing: the target database, or the SQLite file", async () => {
    expect(await copy(["nothing-here.sqlite"])).to.equal(1);
    expect(lines).to.deep.equal([`no SQLite inbox at ${join(dir, "nothing-here.sqlite")}`]);
    lines = [];
    config = loadConfig({ DATA_DIR: dir }, dir);
    expect(await copy()).to.equal(2);
    expect(lines[0]).to.equal(
      "DATABASE_URL (or DATABASE_URL_FILE) must name the PostgreSQL database to copy into",
    );
  });
});
