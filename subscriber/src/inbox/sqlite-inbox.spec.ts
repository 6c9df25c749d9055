import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import type { Inbox } from "./inbox.js";
import { describeInboxContract, newEntry as entry } from "./inbox.contract.js";
import { openSqliteInbox } from "./sqlite-inbox.js";

describeInboxContract("SQLite inbox", async () => {
  const dir = mkdtempSync(join(tmpdir(), "inbox-"));
  const file = join(dir, "inbox.sqlite");
  let inbox: Inbox = openSqliteInbox(file);
  return {
    inbox,
    reopen: async (retention) => {
      await inbox.close();
      inbox = openSqliteInbox(file, retention);
      return inbox;
    },
    destroy: async () => {
      await inbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

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

  it("returns every interrupted delivery to pending on restart: one process owns the file", async () => {
    await inbox.record([entry()]);
    expect((await inbox.claimNext(Date.now(), new Set()))?.state).to.equal("in_flight");
    await inbox.close();
    inbox = openSqliteInbox(join(dir, "inbox.sqlite"));
    expect(await inbox.recoverInFlight()).to.equal(1);
    expect((await inbox.counts()).pending).to.equal(1);
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
