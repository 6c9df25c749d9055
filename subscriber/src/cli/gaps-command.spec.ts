import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { Inbox } from "../inbox/inbox.js";
import { openSqliteInbox } from "../inbox/sqlite-inbox.js";
import { gapsCommand } from "./gaps-command.js";

describe("gaps CLI", () => {
  let dir: string;
  let inbox: Inbox;
  let out: string[];
  const run = (...args: string[]) => gapsCommand(args, inbox.gaps, (line) => out.push(line), "cli");

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "gaps-cli-"));
    inbox = openSqliteInbox(join(dir, "inbox.sqlite"));
    out = [];
    const from = Date.parse("2026-12-01T10:00:00Z");
    const lost = await inbox.gaps.open({
      channel: "s2",
      from,
      to: from + 60_000,
      cause: "not resumed",
      openedAt: from + 60_000,
    });
    await inbox.gaps.giveUp(lost.id, {
      until: from + 60_000,
      reason: "older than the recovery window (REALTIME_RECOVERY_WINDOW=600 s)",
      at: from + 700_000,
    });
    const open = await inbox.gaps.open({
      channel: "s1",
      from: from + 120_000,
      to: from + 180_000,
      cause: "start-up",
      openedAt: from + 180_000,
    });
    await inbox.gaps.failed(open.id, { error: "50000 history unavailable", at: from + 200_000 });
  });
  afterEach(async () => {
    await inbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists open and unrecoverable gaps with their reasons", async () => {
    expect(await run("list")).to.equal(0);
    expect(out).to.deep.equal([
      "#2  s1  open  2026-12-01T10:02:00.000Z .. 2026-12-01T10:03:00.000Z  start-up  : 1 failed attempts, last: 50000 history unavailable",
      "#1  s2  unrecoverable  2026-12-01T10:00:00.000Z .. 2026-12-01T10:01:00.000Z  not resumed  : older than the recovery window (REALTIME_RECOVERY_WINDOW=600 s)",
    ]);
  });

  it("acknowledges an unrecoverable gap once, naming who did, and refuses anything else", async () => {
    expect(await run("ack", "2")).to.equal(1);
    expect(out[0]).to.equal("no unacknowledged unrecoverable gap 2 (see: list)");
    expect(await run("ack", "1", "--by", "alice")).to.equal(0);
    expect(await inbox.gaps.unacknowledged()).to.deep.equal([]);
    expect(await inbox.gaps.get(1)).to.deep.include({ acknowledgedBy: "alice" });
    expect(await run("ack", "1")).to.equal(1);
    await run("list");
    expect(out.at(-1)).to.match(/\(acknowledged .* by alice\)$/);
  });

  it("acknowledges every unrecoverable gap with --all, and shows one gap as JSON", async () => {
    expect(await run("ack", "--all")).to.equal(0);
    expect(out[0]).to.equal("acknowledged 1 unrecoverable gaps");
    expect(await run("show", "1")).to.equal(0);
    expect(JSON.parse(out[1]!)).to.deep.include({ id: 1, acknowledgedBy: "cli" });
    expect(await run("forget", "1")).to.equal(2);
    expect(out.at(-1)).to.match(/^usage:/);
  });
});
