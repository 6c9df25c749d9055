import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import {
  OrderSchema,
  OrderStatus,
  RebalanceResponseSchema,
  RunSchema,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { createSqliteRunStore } from "./sqlite-run-store.js";

const run = (runId: string, key: string, accountId = "DU1") =>
  create(RunSchema, {
    runId,
    accountId,
    idempotencyKey: key,
    status: RunStatus.RUNNING,
    createdAt: timestampNow(),
  });

describe("the SQLite run store", () => {
  const file = () => join(mkdtempSync(join(tmpdir(), "runs-")), "runs.sqlite");

  it("records one run per account and idempotency key, returning the first for a repeat", async () => {
    const store = createSqliteRunStore(file());
    expect((await store.begin(run("r1", "k"))).created).to.equal(true);
    const again = await store.begin(run("r2", "k"));
    expect(again.created).to.equal(false);
    expect(again.run.runId).to.equal("r1");
    expect((await store.begin(run("r3", "k", "DU2"))).created).to.equal(true);
    expect(await store.get("r2")).to.equal(undefined);
    await store.close();
  });

  it("keeps runs and their events across a restart", async () => {
    const path = file();
    const first = createSqliteRunStore(path);
    const r = run("r1", "k");
    await first.begin(r);
    for (const sequence of [1, 2]) {
      await first.appendEvent(create(RebalanceResponseSchema, { runId: "r1", sequence }));
    }
    r.status = RunStatus.COMPLETED;
    r.message = "done";
    await first.save(r);
    await first.close();

    const second = createSqliteRunStore(path);
    expect((await second.get("r1"))?.message).to.equal("done");
    expect((await second.events("r1")).map((e) => e.sequence)).to.deep.equal([1, 2]);
    expect(await second.running()).to.deep.equal([]);
    expect(second.health().ok).to.equal(true);
    await second.close();
  });

  it("reads a running run as its saved record plus the order events appended since", async () => {
    const path = file();
    const first = createSqliteRunStore(path);
    const r = run("r1", "k");
    await first.begin(r);
    await first.appendEvent(create(RebalanceResponseSchema, { runId: "r1", sequence: 1 }));
    await first.save(r, 1);
    const order = create(OrderSchema, { orderId: "7", status: OrderStatus.SUBMITTED });
    await first.appendEvent(
      create(RebalanceResponseSchema, {
        runId: "r1",
        sequence: 2,
        event: { case: "orderSubmitted", value: { order } },
      }),
    );
    await first.close();

    // As after a crash between phases: the order reached only the events, yet the run shows it.
    const second = createSqliteRunStore(path);
    expect((await second.get("r1"))?.orders.map((o) => o.orderId)).to.deep.equal(["7"]);
    expect((await second.running()).map((x) => x.orders.length)).to.deep.equal([1]);
    await second.close();
  });

  it("lists an account's runs newest first, up to the limit", async () => {
    const store = createSqliteRunStore(file());
    for (const id of ["a", "b", "c"]) await store.begin(run(id, id));
    expect((await store.list("DU1", 2)).map((r) => r.runId)).to.deep.equal(["c", "b"]);
    expect((await store.running()).length).to.equal(3);
    await store.close();
  });

  it("pages an account's runs from a run on, newest first, in the order they were recorded", async () => {
    const store = createSqliteRunStore(file());
    // All in one second: the order they were recorded in decides.
    for (const id of ["a", "b", "c", "d", "e"]) await store.begin(run(id, id));
    await store.begin({ ...run("other", "other"), accountId: "DU2" });
    const ids = async (before?: string) => (await store.list("DU1", 2, before)).map((r) => r.runId);
    expect(await ids()).to.deep.equal(["e", "d"]);
    expect(await ids("d")).to.deep.equal(["c", "b"]);
    expect(await ids("b")).to.deep.equal(["a"]);
    expect(await ids("a")).to.deep.equal([]);
    await store.close();
  });
});
