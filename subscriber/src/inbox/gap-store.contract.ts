import { expect } from "chai";
import type { GapStore, NewGap } from "./gap-store.js";

/** A gap store under test, and a way to open its database again as a restart would. */
export interface GapStoreHarness {
  store: GapStore;
  /** Closes the store and opens the same database again. */
  reopen(): Promise<GapStore>;
  /** Closes the store and removes its database. */
  destroy(): Promise<void>;
}

const gap = (overrides: Partial<NewGap> = {}): NewGap => ({
  channel: "s1",
  from: 1000,
  to: 2000,
  cause: "not resumed",
  openedAt: 5000,
  ...overrides,
});

/**
 * The behaviour every GapStore must have, as mocha specs: run it against a new implementation
 * (`describeGapStoreContract("PostgreSQL gap store", openPostgresHarness)`).
 */
export function describeGapStoreContract(
  name: string,
  openHarness: () => Promise<GapStoreHarness>,
): void {
  describe(`${name} (gap store contract)`, () => {
    let harness: GapStoreHarness;
    let store: GapStore;
    beforeEach(async () => {
      harness = await openHarness();
      store = harness.store;
    });
    afterEach(() => harness.destroy());

    it("records a gap as open and moves the channel's mark to its end in the same step", async () => {
      expect(await store.mark("s1")).to.equal(undefined);
      const recorded = await store.open(gap({ anchorAt: 900 }));
      expect(recorded).to.deep.include({
        channel: "s1",
        from: 1000,
        to: 2000,
        cause: "not resumed",
        state: "open",
        anchorAt: 900,
        failures: 0,
        recovered: 0,
        lastError: "",
        reason: "",
      });
      expect(await store.mark("s1")).to.equal(2000);
      expect(await store.mark("s2")).to.equal(undefined);
      expect(await store.get(recorded.id)).to.deep.equal(recorded);
    });

    it("moves a mark forward only", async () => {
      await store.advanceMark("s1", 3000);
      await store.advanceMark("s1", 2500);
      expect(await store.mark("s1")).to.equal(3000);
      await store.open(gap({ to: 2000 }));
      expect(await store.mark("s1"), "an older gap leaves the mark").to.equal(3000);
    });

    it("keeps open gaps across a restart, oldest first, per channel or all", async () => {
      const later = await store.open(gap({ from: 3000, to: 4000 }));
      const earlier = await store.open(gap({ from: 1000, to: 2000 }));
      const other = await store.open(gap({ channel: "s2", from: 2000, to: 2500 }));
      store = await harness.reopen();
      expect((await store.listOpen("s1")).map((g) => g.id)).to.deep.equal([earlier.id, later.id]);
      expect((await store.listOpen()).map((g) => g.id)).to.deep.equal([
        earlier.id,
        other.id,
        later.id,
      ]);
      expect(await store.mark("s1")).to.equal(4000);
    });

    it("counts failed attempts with the last reason, and closes a gap once covered", async () => {
      const { id } = await store.open(gap());
      await store.failed(id, { error: "50000 history unavailable", at: 6000 });
      await store.failed(id, { error: "50300 try later", at: 7000 });
      expect(await store.get(id)).to.deep.include({
        failures: 2,
        lastError: "50300 try later",
        lastAttemptAt: 7000,
      });
      expect(await store.cover(id, { recovered: 5, at: 8000 })).to.equal(true);
      expect(await store.get(id)).to.deep.include({
        state: "covered",
        recovered: 5,
        closedAt: 8000,
      });
      expect(await store.listOpen()).to.deep.equal([]);
      expect(await store.cover(id, { recovered: 1, at: 9000 }), "closed once").to.equal(false);
    });

    it("turns the lost start of a gap into one unrecoverable record and keeps the rest open", async () => {
      const { id } = await store.open(gap({ from: 1000, to: 2000 }));
      const { record, extended } = await store.giveUp(id, {
        until: 1500,
        reason: "older than the recovery window (600 s)",
        at: 6000,
      });
      expect(extended).to.equal(false);
      expect(record).to.deep.include({
        channel: "s1",
        from: 1000,
        to: 1500,
        state: "unrecoverable",
        reason: "older than the recovery window (600 s)",
        closedAt: 6000,
      });
      expect(record.id).to.not.equal(id);
      expect(await store.get(id)).to.deep.include({ state: "open", from: 1500, to: 2000 });
      expect((await store.unacknowledged()).map((g) => g.id)).to.deep.equal([record.id]);
    });

    it("extends an unacknowledged loss when the same gap loses more, rather than adding records", async () => {
      const { id } = await store.open(gap({ from: 1000, to: 2000 }));
      const first = await store.giveUp(id, { until: 1200, reason: "window", at: 6000 });
      const second = await store.giveUp(id, { until: 1400, reason: "window", at: 7000 });
      expect(second).to.deep.include({ extended: true });
      expect(second.record).to.deep.include({ id: first.record.id, from: 1000, to: 1400 });
      const whole = await store.giveUp(id, { until: 2000, reason: "window", at: 8000 });
      expect(whole.record).to.deep.include({ id: first.record.id, from: 1000, to: 2000 });
      expect(await store.get(id), "absorbed into the record").to.equal(undefined);
      expect(await store.counts()).to.deep.equal({
        open: 0,
        covered: 0,
        unrecoverable: 1,
        unacknowledged: 1,
      });
    });

    it("makes one record of two overlapping gaps lost on the same channel", async () => {
      const a = await store.open(gap({ from: 1000, to: 2000 }));
      const b = await store.open(gap({ from: 1800, to: 3000 }));
      const other = await store.open(gap({ channel: "s2", from: 1000, to: 3000 }));
      await store.giveUp(a.id, { until: 2000, reason: "history does not reach back", at: 6000 });
      const second = await store.giveUp(b.id, { until: 3000, reason: "same", at: 6100 });
      expect(second.extended).to.equal(true);
      expect(second.record).to.deep.include({ id: a.id, from: 1000, to: 3000 });
      const third = await store.giveUp(other.id, {
        until: 3000,
        reason: "other channel",
        at: 6200,
      });
      expect(third.extended).to.equal(false);
      expect((await store.unacknowledged()).map((g) => g.id)).to.deep.equal([a.id, other.id]);
    });

    it("turns a gap lost whole into the record itself", async () => {
      const { id } = await store.open(gap());
      const { record } = await store.giveUp(id, {
        until: 2000,
        reason: "history does not reach back",
        at: 6000,
      });
      expect(record).to.deep.include({ id, state: "unrecoverable", from: 1000, to: 2000 });
      expect(await store.listOpen()).to.deep.equal([]);
    });

    it("keeps an unrecoverable gap until an operator acknowledges it, once", async () => {
      const { id } = await store.open(gap());
      await store.giveUp(id, { until: 2000, reason: "lost", at: 6000 });
      store = await harness.reopen();
      expect((await store.unacknowledged()).map((g) => g.id)).to.deep.equal([id]);
      expect(await store.acknowledge(id, { who: "cli", at: 7000 })).to.equal(true);
      expect(await store.acknowledge(id, { who: "cli", at: 8000 })).to.equal(false);
      expect(await store.unacknowledged()).to.deep.equal([]);
      expect(await store.get(id)).to.deep.include({ acknowledgedAt: 7000, acknowledgedBy: "cli" });
      const open = await store.open(gap({ from: 3000, to: 4000 }));
      expect(await store.acknowledge(open.id, { who: "cli", at: 9000 }), "not lost").to.equal(
        false,
      );
      expect(await store.counts()).to.deep.equal({
        open: 1,
        covered: 0,
        unrecoverable: 1,
        unacknowledged: 0,
      });
    });

    it("starts a new record after an acknowledged one instead of reopening it", async () => {
      const { id } = await store.open(gap({ from: 1000, to: 3000 }));
      const first = await store.giveUp(id, { until: 1500, reason: "window", at: 6000 });
      await store.acknowledge(first.record.id, { who: "cli", at: 6500 });
      const second = await store.giveUp(id, { until: 2000, reason: "window", at: 7000 });
      expect(second.extended).to.equal(false);
      expect(second.record).to.deep.include({ from: 1500, to: 2000 });
    });

    it("lists gaps newest first, of one state when asked", async () => {
      const a = await store.open(gap());
      const b = await store.open(gap({ channel: "s2" }));
      await store.cover(a.id, { recovered: 0, at: 6000 });
      expect((await store.list()).map((g) => g.id)).to.deep.equal([b.id, a.id]);
      expect((await store.list({ state: "covered" })).map((g) => g.id)).to.deep.equal([a.id]);
      expect(await store.list({ limit: 1 })).to.have.length(1);
    });
  });
}
