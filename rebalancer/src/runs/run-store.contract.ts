import { expect } from "chai";
import type { BrokerOrder } from "../broker/broker.js";
import { foldRun } from "./fold-run.js";
import type { JournalEvent, RecordedEvent } from "./recorded-event.js";
import { runMessage } from "./run-message.js";
import type { RunStore } from "./run-store.js";

/** A store under test, and a way to open its database again as a restart would. */
export interface RunStoreHarness {
  store: RunStore;
  /** Closes the store and opens the same database again. */
  reopen(): Promise<RunStore>;
  /** Closes the store. */
  destroy(): Promise<void>;
}

/** The acceptance of run `runId` of `accountId` with this idempotency key. */
export const accepted = (runId: string, key: string, accountId = "DU1"): RecordedEvent => ({
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
/** Event number `sequence` of a run. */
export const next = (runId: string, sequence: number, event: JournalEvent): RecordedEvent => ({
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

/**
 * The behaviour every RunStore must have, as mocha specs: run it against each implementation
 * (`describeRunStoreContract("PostgreSQL run store", openPostgresHarness)`).
 */
export function describeRunStoreContract(
  name: string,
  openHarness: () => Promise<RunStoreHarness>,
) {
  describe(`${name} (run store contract)`, () => {
    let harness: RunStoreHarness;
    let store: RunStore;
    beforeEach(async () => {
      harness = await openHarness();
      store = harness.store;
    });
    afterEach(() => harness.destroy());

    it("records one run per account and idempotency key, returning the first for a repeat", async () => {
      expect((await store.begin(accepted("r1", "k"))).created).to.equal(true);
      const again = await store.begin(accepted("r2", "k"));
      expect(again.created).to.equal(false);
      expect(again.run.runId).to.equal("r1");
      expect((await store.begin(accepted("r3", "k", "DU2"))).created).to.equal(true);
      expect(await store.get("r2")).to.equal(undefined);
      expect(await store.events("r2")).to.deep.equal([]);
    });

    it("keeps runs and their events across a restart", async () => {
      const first = store;
      const journal = [
        accepted("r1", "k"),
        next("r1", 2, { kind: "outcome", outcome: { status: "completed", message: "done" } }),
      ];
      await first.begin(journal[0]!);
      await first.appendEvent(journal[1]!);
      await first.finish(runMessage(foldRun(journal)));

      const second = await harness.reopen();
      expect((await second.get("r1"))?.message).to.equal("done");
      expect((await second.events("r1")).map((e) => e.sequence)).to.deep.equal([1, 2]);
      expect(await second.events("r1")).to.deep.equal(journal);
      expect((await second.responses("r1")).map((r) => r.event.case)).to.deep.equal([
        "accepted",
        "completed",
      ]);
      expect(await second.running()).to.deep.equal([]);
      expect(second.health().ok).to.equal(true);
    });

    it("reads a running run as the fold of its journal, which alone holds its orders", async () => {
      const first = store;
      await first.begin(accepted("r1", "k"));
      await first.appendEvent(next("r1", 2, { kind: "orderPlaced", order }));

      // As after a crash mid-phase: the order reached only the journal, yet the run shows it.
      const second = await harness.reopen();
      expect((await second.get("r1"))?.orders.map((o) => o.orderId)).to.deep.equal(["7"]);
      expect((await second.running()).map((x) => x.orders.length)).to.deep.equal([1]);
    });

    it("lists an account's runs newest first, up to the limit", async () => {
      for (const id of ["a", "b", "c"]) await store.begin(accepted(id, id));
      expect((await store.list("DU1", 2)).map((r) => r.runId)).to.deep.equal(["c", "b"]);
      expect((await store.running()).length).to.equal(3);
    });

    it("pages an account's runs from a run on, newest first, in the order they were recorded", async () => {
      // All in one second: the order they were recorded in decides.
      for (const id of ["a", "b", "c", "d", "e"]) await store.begin(accepted(id, id));
      await store.begin(accepted("other", "other", "DU2"));
      const ids = async (before?: string) =>
        (await store.list("DU1", 2, before)).map((r) => r.runId);
      expect(await ids()).to.deep.equal(["e", "d"]);
      expect(await ids("d")).to.deep.equal(["c", "b"]);
      expect(await ids("b")).to.deep.equal(["a"]);
      expect(await ids("a")).to.deep.equal([]);
    });

    it("numbers the events of every run in one order, the order they were recorded, across a restart", async () => {
      const first = store;
      expect(await first.lastPosition()).to.equal(0);
      await first.begin(accepted("r1", "k1"));
      await first.begin(accepted("r2", "k2", "DU2"));
      // A repeated key appends nothing: no position is taken.
      await first.begin(accepted("r3", "k1"));
      await first.appendEvent(next("r1", 2, { kind: "phaseStarted", phase: "planning" }));

      const second = await harness.reopen();
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
    });

    it("finds a run by its account and idempotency key", async () => {
      await store.begin(accepted("r1", "k"));
      expect((await store.find("DU1", "k"))?.runId).to.equal("r1");
      expect(await store.find("DU2", "k")).to.equal(undefined);
      expect(await store.find("DU1", "other")).to.equal(undefined);
    });

    it("makes one run of many concurrent begins with one key", async () => {
      const begun = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.begin(accepted(`r${i}`, "same"))),
      );
      expect(begun.filter((b) => b.created)).to.have.length(1);
      expect(new Set(begun.map((b) => b.run.runId)).size).to.equal(1);
      expect(await store.list("DU1", 50)).to.have.length(1);
    });
  });
}
