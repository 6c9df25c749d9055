import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { expect } from "chai";
import { readConfig, type RebalancerConfig } from "../config.js";
import { foldRun } from "../runs/fold-run.js";
import { openPostgresRunStore } from "../runs/postgres-run-store.js";
import { accepted, next } from "../runs/run-store.contract.js";
import { runMessage } from "../runs/run-message.js";
import { createSqliteRunStore } from "../runs/sqlite-run-store.js";
import { copyRunsCommand } from "./copy-runs-command.js";

describe("db:copy: the run store from SQLite to PostgreSQL", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  let dir: string;
  let config: RebalancerConfig;
  let lines: string[];
  const copy = (args: string[] = []) =>
    copyRunsCommand(args, { config, base: dir, write: (line) => lines.push(line) });

  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "copy-runs-"));
    config = readConfig({ DATA_DIR: dir, DATABASE_URL: await server.createDatabase() }, dir);
    lines = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("copies runs, records and journals once, in the order they were recorded; a run left running stays running", async () => {
    const sqlite = createSqliteRunStore(join(dir, "runs.sqlite"));
    const done = [
      accepted("done", "k1"),
      next("done", 2, { kind: "outcome", outcome: { status: "completed", message: "done" } }),
    ];
    await sqlite.begin(done[0]!);
    await sqlite.appendEvent(done[1]!);
    await sqlite.finish(runMessage(foldRun(done)));
    for (const id of ["left", "b", "c"]) await sqlite.begin(accepted(id, id));
    const before = {
      list: await sqlite.list("DU1", 10),
      events: await sqlite.events("done"),
      responses: await sqlite.responses("done"),
    };
    await sqlite.close();

    expect(await copy(), lines.join("\n")).to.equal(0);
    expect(lines.join("\n")).to.contain("runs: 4 (3 running").and.contain("journal events: 5");
    const shared = await openPostgresRunStore(config.databaseUrl!);
    try {
      expect(await shared.list("DU1", 10)).to.deep.equal(before.list);
      expect(await shared.events("done")).to.deep.equal(before.events);
      expect(await shared.responses("done")).to.deep.equal(before.responses);
      expect((await shared.running()).map((r) => r.runId).sort()).to.deep.equal(["b", "c", "left"]);
      // Idempotency keys came along: a repeat is still a repeat.
      expect((await shared.begin(accepted("again", "k1"))).run.runId).to.equal("done");
    } finally {
      await shared.close();
    }

    lines = [];
    expect(await copy(), "a second copy").to.equal(1);
    expect(lines.join("\n")).to.contain("refused: the PostgreSQL run store already holds runs");
  });

  it("names what is missing: DATABASE_URL, or the file", async () => {
    config = readConfig({ DATA_DIR: dir }, dir);
    expect(await copy()).to.equal(2);
    expect(lines[0]).to.contain("DATABASE_URL");
    config = readConfig({ DATA_DIR: dir, DATABASE_URL: "postgres://127.0.0.1:1/none" }, dir);
    lines = [];
    expect(await copy(["missing.sqlite"])).to.equal(1);
    expect(lines).to.deep.equal([`no SQLite run store at ${join(dir, "missing.sqlite")}`]);
  });
});
