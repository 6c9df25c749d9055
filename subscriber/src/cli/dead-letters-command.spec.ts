import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { Inbox } from "../inbox/inbox.js";
import { openSqliteInbox } from "../inbox/sqlite-inbox.js";
import { deadLettersCommand } from "./dead-letters-command.js";

describe("dead-letters CLI", () => {
  let dir: string;
  let inbox: Inbox;
  let out: string[];
  const run = (...args: string[]) => deadLettersCommand(args, inbox, (line) => out.push(line));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "dead-letters-"));
    inbox = openSqliteInbox(join(dir, "inbox.sqlite"));
    out = [];
    const [entry] = await inbox.record([
      {
        accountId: "DU1",
        channel: "s1",
        eventKey: "e-1",
        messageId: "m:0",
        eventId: "e-1",
        source: "realtime",
        command: "rebalance",
        payload: "{}",
        state: "pending",
        reason: "",
        publishedAt: 1,
        receivedAt: 1,
      },
    ]);
    await inbox.kill(entry!.id, "PermissionDenied: no trading permission");
  });
  afterEach(async () => {
    await inbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists dead letters with their reason", async () => {
    expect(await run("list")).to.equal(0);
    expect(out[0]).to.match(
      /^#1 {2}DU1 {2}s1 {2}rebalance .*: PermissionDenied: no trading permission$/,
    );
  });

  it("re-drives a dead letter by id, and says so when there is none", async () => {
    expect(await run("redrive", "1")).to.equal(0);
    expect((await inbox.get(1))?.state).to.equal("pending");
    expect(await run("redrive", "1")).to.equal(1);
    expect(out[1]).to.equal("no dead letter 1 (see: list)");
  });

  it("discards a dead letter by id, once", async () => {
    expect(await run("discard", "1")).to.equal(0);
    expect((await inbox.get(1))?.state).to.equal("discarded");
    expect(await run("discard", "1")).to.equal(1);
    expect(await run("redrive", "1")).to.equal(1);
    expect(out[1]).to.equal("no dead letter 1 (see: list)");
  });

  it("prints usage for anything else", async () => {
    expect(await run("drop", "1")).to.equal(2);
    expect(out[0]).to.match(/^usage:/);
  });
});
