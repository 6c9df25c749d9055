import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAccounts } from "@mesh/platform/accounts";
import { createLogger } from "@mesh/platform/logger";
import {
  ExecutionMode,
  RunStatus,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { createAccountGate } from "../accounts/account-gate.js";
import { createFileAllocations } from "../allocations/file-allocations.js";
import { createSimBroker } from "../broker/sim/sim-broker.js";
import { foldRun } from "./fold-run.js";
import { rebalanceResponses } from "./rebalance-responses.js";
import { createRunCoordinator } from "./run-coordinator.js";
import { runMessage } from "./run-message.js";
import { RunRecorder } from "./run-recorder.js";
import type { RunStore } from "./run-store.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

const root = new URL("../../../", import.meta.url).pathname;
const config = parseAccounts(
  `
defaults:
  allocation_url: "file:rebalancer/allocations/{strategy}.yaml"
  min_order_value: 50
accounts:
  - { account_id: DU1000001, type: paper, strategy: etf-blend-301-20 }
`,
  join(root, "accounts.yaml"),
);

/** A store that counts its writes. */
function countingStore(): { store: RunStore; appended: number[]; finished: number } {
  const store = createSqliteRunStore(join(mkdtempSync(join(tmpdir(), "recorder-")), "runs.sqlite"));
  const counts = { store, appended: [] as number[], finished: 0 };
  const append = store.appendEvent.bind(store);
  store.appendEvent = (event) => {
    counts.appended.push(event.sequence);
    return append(event);
  };
  const finish = store.finish.bind(store);
  store.finish = (run) => {
    counts.finished++;
    return finish(run);
  };
  return counts;
}

async function liveRun(store: RunStore): Promise<RebalanceResponse[]> {
  const coordinator = createRunCoordinator({
    store,
    gate: createAccountGate({ accounts: config.accounts, tradingMode: "paper" }),
    logger: createLogger({ name: "test", level: "silent" }),
    execution: {
      broker: createSimBroker({ fillDelayMs: 2, fillParts: 2 }),
      allocations: createFileAllocations(),
      now: () => new Date(),
    },
  });
  const events: RebalanceResponse[] = [];
  const stream = await coordinator.start({
    accountId: "DU1000001",
    mode: ExecutionMode.LIVE,
    idempotencyKey: "recorded",
    waitIfBusy: false,
  });
  for await (const event of stream) events.push(event);
  return events;
}

describe("the run recorder", () => {
  it("keeps a run as a journal whose fold is its record and whose replay is the stream it told", async () => {
    const counts = countingStore();
    const told = await liveRun(counts.store);
    expect(told.at(-1)?.event.case).to.equal("completed");
    const runId = told[0]!.runId;
    const journal = await counts.store.events(runId);

    const record = await counts.store.get(runId);
    expect(record?.status).to.equal(RunStatus.COMPLETED);
    expect(runMessage(foldRun(journal))).to.deep.equal(record);
    expect(rebalanceResponses(journal)).to.deep.equal(told);
    expect((await counts.store.responses(runId)).map((r) => r.sequence)).to.deep.equal(
      told.map((r) => r.sequence),
    );

    // Each order placed is in the journal with its broker id and the run id (its orderRef).
    const placed = journal.flatMap((e) => (e.event.kind === "orderPlaced" ? [e.event.order] : []));
    expect(placed.map((o) => o.orderId)).to.deep.equal(record!.orders.map((o) => o.orderId));
    expect(placed.every((o) => o.runId === runId)).to.equal(true);
    expect(journal.filter((e) => e.event.kind === "fill")).to.have.length(record!.fills.length);
  });

  it("appends one row per event and writes the whole record once, when the run ends", async () => {
    const counts = countingStore();
    await liveRun(counts.store);
    const runId = (await counts.store.list("DU1000001", 1))[0]!.runId;
    const journal = await counts.store.events(runId);
    // The acceptance goes in with the run itself; every later event is one append.
    expect(counts.appended).to.deep.equal(journal.slice(1).map((e) => e.sequence));
    expect(counts.finished).to.equal(1);
  });

  it("goes on with a run recorded before, numbering on from its journal", async () => {
    const { store } = countingStore();
    const recorder = RunRecorder.accept(store, {
      runId: "run-x",
      accountId: "DU1000001",
      live: true,
      idempotencyKey: "x",
      trigger: { source: "test", eventId: "", channel: "", caller: "" },
      createdAt: new Date(),
    });
    expect(await recorder.begin()).to.deep.equal({ created: true });
    await recorder.record({ kind: "phaseStarted", phase: "selling" });

    const reopened = RunRecorder.reopen(store, await store.events("run-x"));
    expect(reopened.state.phase).to.equal("selling");
    await reopened.record({
      kind: "outcome",
      outcome: { status: "failed", reason: "interrupted", message: "stopped", recordNote: "" },
    });
    const responses = await store.responses("run-x");
    expect(responses.map((r) => [r.sequence, r.event.case])).to.deep.equal([
      [1, "accepted"],
      [2, "phase"],
      [3, "failed"],
    ]);
    expect((await store.get("run-x"))?.status).to.equal(RunStatus.FAILED);
  });

  it("ends its streams at a handover, and a reopened run's streams go past it to the end", async () => {
    const { store } = countingStore();
    const recorder = RunRecorder.accept(store, {
      runId: "run-h",
      accountId: "DU1000001",
      live: true,
      idempotencyKey: "h",
      trigger: { source: "test", eventId: "", channel: "", caller: "" },
      createdAt: new Date(),
    });
    await recorder.begin();
    const following = (async () => {
      const seen: string[] = [];
      for await (const e of recorder.follow(false)) seen.push(e.event.case ?? "");
      return seen;
    })();
    await recorder.record({ kind: "phaseStarted", phase: "selling" });
    await recorder.suspend("handed over at shutdown");
    expect(await following).to.deep.equal(["accepted", "phase", "suspended"]);
    expect((await store.get("run-h"))?.suspended?.message).to.equal("handed over at shutdown");

    const reopened = RunRecorder.reopen(store, await store.events("run-h"));
    const again = (async () => {
      const seen: string[] = [];
      for await (const e of reopened.follow(true)) seen.push(e.event.case ?? "");
      return seen;
    })();
    await reopened.record({
      kind: "resumed",
      resumption: {
        cause: "handed_over",
        phase: "selling",
        orders: [],
        adoptedOrderIds: [],
        fillsRecovered: 0,
        message: "nothing was placed: the run starts over from the allocations",
      },
    });
    await reopened.record({
      kind: "outcome",
      outcome: { status: "completed", message: "completed: 0 orders filled" },
    });
    expect(await again).to.deep.equal(["accepted", "phase", "suspended", "resumed", "completed"]);
    const run = await store.get("run-h");
    expect(run?.suspended).to.equal(undefined);
    expect(run?.resumptions.map((r) => r.message)).to.deep.equal([
      "nothing was placed: the run starts over from the allocations",
    ]);
  });
});
