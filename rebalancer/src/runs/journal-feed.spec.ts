import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { withJournalFeed } from "./journal-feed.js";
import type { RecordedEvent } from "./recorded-event.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

const accepted: RecordedEvent = {
  runId: "r1",
  sequence: 1,
  time: new Date(),
  event: {
    kind: "accepted",
    header: {
      runId: "r1",
      accountId: "DU1",
      live: false,
      idempotencyKey: "k",
      trigger: { source: "test", eventId: "", channel: "", caller: "" },
      createdAt: new Date(),
    },
  },
};

describe("the journal feed", () => {
  const fed = () =>
    withJournalFeed(
      createSqliteRunStore(join(mkdtempSync(join(tmpdir(), "feed-")), "runs.sqlite")),
    );

  it("wakes a watch waiting past a version once an event is appended", async () => {
    const { store, feed } = fed();
    const seen = feed.version;
    const woken = feed.grownPast(seen, new AbortController().signal);
    await store.begin(accepted);
    await woken;
    expect(feed.version).to.be.greaterThan(seen);
    await store.close();
  });

  it("does not wait when the journal grew between the version taken and the wait", async () => {
    const { store, feed } = fed();
    const seen = feed.version;
    await store.begin(accepted);
    // Would never resolve if the growth before the wait were lost.
    await feed.grownPast(seen, new AbortController().signal);
    await store.close();
  });

  it("stops waiting with the signal's reason, and is told of events appended elsewhere", async () => {
    const { store, feed, grown } = fed();
    const abort = new AbortController();
    const waiting = feed.grownPast(feed.version, abort.signal);
    abort.abort(new Error("watcher left"));
    const error = await waiting.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).to.equal("watcher left");
    const seen = feed.version;
    const woken = feed.grownPast(seen, new AbortController().signal);
    grown();
    await woken;
    await store.close();
  });
});
