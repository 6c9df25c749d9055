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
import type { BrokerOrder } from "../broker/broker.js";
import { foldRun } from "./fold-run.js";
import type { JournalEvent, RecordedEvent } from "./recorded-event.js";
import { runMessage } from "./run-message.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

const accepted = (runId: string, key: string, accountId = "DU1"): RecordedEvent => ({
  runId,
  sequence: 1,
  time: new Date(),
  event: {
    kind: "accepted",
    header: {
      runId,
      accountId,
      live: true,
      idempotencyKey: key,
      trigger: { source: "test", eventId: "", channel: "", caller: "" },
      createdAt: new Date(),
    },
  },
});
const next = (runId: string, sequence: number, event: JournalEvent): RecordedEvent => ({
  runId,
  sequence,
  time: new Date(),
  event,
});
const order: BrokerOrder = {
  orderId: "7",
  accountId: "DU1",
  runId: "r1",
  symbol: "SPY",
  side: "buy",
  quantity: 3,
  orderType: "market",
  limitPrice: 0,
  timeInForce: "DAY",
  status: "submitted",
  filledQuantity: 0,
  averageFillPrice: 0,
  message: "",
};

describe("the SQLite run store", () => {
  const file = () => join(mkdtempSync(join(tmpdir(), "runs-")), "runs.sqlite");

  it("records one run per account and idempotency key, returning the first for a repeat", async () => {
    const store = createSqliteRunStore(file());
    expect((await store.begin(accepted("r1", "k"))).created).to.equal(true);
    const again = await store.begin(accepted("r2", "k"));
    expect(again.created).to.equal(false);
    expect(again.run.runId).to.equal("r1");
    expect((await store.begin(accepted("r3", "k", "DU2"))).created).to.equal(true);
    expect(await store.get("r2")).to.equal(undefined);
    expect(await store.events("r2")).to.deep.equal([]);
    await store.close();
  });

  it("keeps runs and their events across a restart", async () => {
    const path = file();
    const first = createSqliteRunStore(path);
    const journal = [
      accepted("r1", "k"),
      next("r1", 2, { kind: "outcome", outcome: { status: "completed", message: "done" } }),
    ];
    await first.begin(journal[0]!);
    await first.appendEvent(journal[1]!);
    await first.finish(runMessage(foldRun(journal)));
    await first.close();

    const second = createSqliteRunStore(path);
    expect((await second.get("r1"))?.message).to.equal("done");
    expect((await second.events("r1")).map((e) => e.sequence)).to.deep.equal([1, 2]);
    expect(await second.events("r1")).to.deep.equal(journal);
    expect((await second.responses("r1")).map((r) => r.event.case)).to.deep.equal([
      "accepted",
      "completed",
    ]);
    expect(await second.running()).to.deep.equal([]);
    expect(second.health().ok).to.equal(true);
    await second.close();
  });

  it("numbers the events of every run in one order, the order they were recorded, across a restart", async () => {
    const path = file();
    const first = createSqliteRunStore(path);
    expect(await first.lastPosition()).to.equal(0);
    await first.begin(accepted("r1", "k1"));
    await first.begin(accepted("r2", "k2", "DU2"));
    // A repeated key appends nothing: no position is taken.
    await first.begin(accepted("r3", "k1"));
    await first.appendEvent(next("r1", 2, { kind: "phaseStarted", phase: "planning" }));
    await first.close();

    const second = createSqliteRunStore(path);
    await second.appendEvent(next("r2", 2, { kind: "phaseStarted", phase: "planning" }));
    const all = await second.eventsAfter(0, 10);
    expect(all.map((e) => `${e.recorded.runId}:${e.recorded.sequence}`)).to.deep.equal([
      "r1:1",
      "r2:1",
      "r1:2",
      "r2:2",
    ]);
    expect(all.map((e) => e.position)).to.deep.equal([1, 2, 3, 4]);
    expect(await second.lastPosition()).to.equal(4);
    expect(all[2]!.recorded).to.deep.equal((await second.events("r1"))[1]);
    const after = await second.eventsAfter(2, 1);
    expect(after.map((e) => e.position)).to.deep.equal([3]);
    expect(await second.eventsAfter(4, 10)).to.deep.equal([]);
    await second.close();
  });

  it("reads a running run as the fold of its journal, which alone holds its orders", async () => {
    const path = file();
    const first = createSqliteRunStore(path);
    await first.begin(accepted("r1", "k"));
    await first.appendEvent(next("r1", 2, { kind: "orderPlaced", order }));
    await first.close();

    // As after a crash mid-phase: the order reached only the journal, yet the run shows it.
    const second = createSqliteRunStore(path);
    expect((await second.get("r1"))?.orders.map((o) => o.orderId)).to.deep.equal(["7"]);
    expect((await second.running()).map((x) => x.orders.length)).to.deep.equal([1]);
    await second.close();
  });

  it("lists an account's runs newest first, up to the limit", async () => {
    const store = createSqliteRunStore(file());
    for (const id of ["a", "b", "c"]) await store.begin(accepted(id, id));
    expect((await store.list("DU1", 2)).map((r) => r.runId)).to.deep.equal(["c", "b"]);
    expect((await store.running()).length).to.equal(3);
    await store.close();
  });

  it("pages an account's runs from a run on, newest first, in the order they were recorded", async () => {
    const store = createSqliteRunStore(file());
    // All in one second: the order they were recorded in decides.
    for (const id of ["a", "b", "c", "d", "e"]) await store.begin(accepted(id, id));
    await store.begin(accepted("other", "other", "DU2"));
    const ids = async (before?: string) => (await store.list("DU1", 2, before)).map((r) => r.runId);
    expect(await ids()).to.deep.equal(["e", "d"]);
    expect(await ids("d")).to.deep.equal(["c", "b"]);
    expect(await ids("b")).to.deep.equal(["a"]);
    expect(await ids("a")).to.deep.equal([]);
    await store.close();
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
