import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Phase, type WatchRunsResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunPhase } from "../execution/run-phase.js";
import { withJournalFeed } from "../runs/journal-feed.js";
import type { RecordedEvent } from "../runs/recorded-event.js";
import { createSqliteRunStore } from "../runs/sqlite-run-store.js";
import { watchRuns } from "./watch-runs.js";

const accepted = (runId: string): RecordedEvent => ({
  runId,
  sequence: 1,
  time: new Date(),
  event: {
    kind: "accepted",
    header: {
      runId,
      accountId: "DU1",
      live: false,
      idempotencyKey: runId,
      trigger: { source: "test", eventId: "", channel: "", caller: "" },
      createdAt: new Date(),
    },
  },
});
const phase = (runId: string, sequence: number, p: RunPhase): RecordedEvent => ({
  runId,
  sequence,
  time: new Date(),
  event: { kind: "phaseStarted", phase: p },
});

describe("watchRuns", () => {
  const source = () => {
    const { store, feed } = withJournalFeed(
      createSqliteRunStore(join(mkdtempSync(join(tmpdir(), "watch-")), "runs.sqlite")),
    );
    return { store, feed, heartbeatMs: 60_000 };
  };
  const request = { accountIds: [], statuses: [], resumeToken: "" };

  it("numbers the events of a run it meets part-way as the run's own stream numbered them", async () => {
    const { store, feed, heartbeatMs } = source();
    await store.begin(accepted("r1"));
    await store.appendEvent(phase("r1", 2, "fetching_allocations"));
    // The account read is kept by the record only: no stream event, no number.
    await store.appendEvent({
      runId: "r1",
      sequence: 3,
      time: new Date(),
      event: { kind: "accountRead", moment: "start", holdings: [], netLiquidation: 1e3, cash: 1e3 },
    });
    const abort = new AbortController();
    const watch = watchRuns({ store, feed, heartbeatMs }, request, abort.signal);
    await watch.next();
    await store.appendEvent(phase("r1", 4, "planning"));
    const { value } = (await watch.next()) as { value: WatchRunsResponse };
    abort.abort();
    expect(value.event!.sequence).to.equal(3);
    expect(value.event!.event).to.deep.include({ case: "phase" });
    expect(value.event!.event.value).to.include({ phase: Phase.PLANNING });
    expect(value.event!.replayed).to.equal(false);
    await store.close();
  });

  it("passes over an event of a journal without its acceptance, and tells those after it", async () => {
    const { store, feed, heartbeatMs } = source();
    await store.appendEvent(phase("orphan", 2, "planning"));
    await store.begin(accepted("r2"));
    const abort = new AbortController();
    const from = Buffer.from("journal:0", "utf8").toString("base64url");
    const watch = watchRuns(
      { store, feed, heartbeatMs },
      { ...request, resumeToken: from },
      abort.signal,
    );
    await watch.next();
    const { value } = (await watch.next()) as { value: WatchRunsResponse };
    abort.abort();
    expect(value.runId).to.equal("r2");
    expect(value.event!.event.case).to.equal("accepted");
    expect(value.event!.replayed).to.equal(true);
    await store.close();
  });
});
