import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import Database from "better-sqlite3";
import { expect } from "chai";
import {
  FailureReason,
  RebalanceResponseSchema,
  RunSchema,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { describeRunStoreContract } from "./run-store.contract.js";
import type { RunStore } from "./run-store.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

describe("the SQLite run store", () => {
  const file = () => join(mkdtempSync(join(tmpdir(), "runs-")), "runs.sqlite");

  describeRunStoreContract("SQLite run store", async () => {
    const path = file();
    let store: RunStore = createSqliteRunStore(path);
    return {
      store,
      reopen: async () => {
        await store.close();
        store = createSqliteRunStore(path);
        return store;
      },
      destroy: () => store.close(),
    };
  });

  it("reads a file written before journals: its runs, their replays, and a run it left running marked interrupted", async () => {
    const path = file();
    const old = new Database(path);
    // The tables as the version before journals made them.
    old.exec(`
      CREATE TABLE runs (run_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL, status INTEGER NOT NULL, created_at INTEGER NOT NULL,
        record BLOB NOT NULL, through_sequence INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account_id, idempotency_key));
      CREATE TABLE run_events (run_id TEXT NOT NULL, sequence INTEGER NOT NULL,
        event BLOB NOT NULL, PRIMARY KEY (run_id, sequence));
    `);
    const insert = old.prepare(
      `INSERT INTO runs (run_id, account_id, idempotency_key, status, created_at, record) VALUES (?, 'DU1', ?, ?, 0, ?)`,
    );
    for (const [runId, status] of [
      ["done", RunStatus.COMPLETED],
      ["left", RunStatus.RUNNING],
    ] as const) {
      const run = create(RunSchema, { runId, accountId: "DU1", status, createdAt: timestampNow() });
      insert.run(runId, runId, status, toBinary(RunSchema, run));
      const event = create(RebalanceResponseSchema, {
        runId,
        sequence: 1,
        event: { case: "accepted", value: { accountId: "DU1" } },
      });
      old
        .prepare(`INSERT INTO run_events (run_id, sequence, event) VALUES (?, 1, ?)`)
        .run(runId, toBinary(RebalanceResponseSchema, event));
    }
    old.close();

    const store = createSqliteRunStore(path);
    expect((await store.get("done"))?.status).to.equal(RunStatus.COMPLETED);
    expect((await store.responses("done")).map((r) => r.event.case)).to.deep.equal(["accepted"]);
    const left = await store.get("left");
    expect(left?.status).to.equal(RunStatus.FAILED);
    expect(left?.failureReason).to.equal(FailureReason.INTERRUPTED);
    expect((await store.responses("left")).map((r) => r.event.case)).to.deep.equal([
      "accepted",
      "failed",
    ]);
    expect(await store.running()).to.deep.equal([]);
    await store.close();
  });
});
