import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import type { Inbox, InboxEntry } from "../../src/inbox/inbox.js";
import { newEntry } from "../../src/inbox/inbox.contract.js";
import { openPostgresInbox } from "../../src/inbox/postgres-inbox.js";
import { startInboxReplica, type InboxReplicaProcess } from "../support/inbox-replica-process.js";

/** Long enough that a loaded machine never lets a live holder's claim lapse by accident. */
const claimTimeoutMs = 2000;

describe("PostgreSQL inbox shared by replicas", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  let url: string;
  const inboxes: Inbox[] = [];
  const processes: InboxReplicaProcess[] = [];
  const open = async () => {
    const inbox = await openPostgresInbox(url, { claimTimeoutMs });
    inboxes.push(inbox);
    return inbox;
  };
  const replica = async () => {
    const started = await startInboxReplica(url, claimTimeoutMs);
    processes.push(started);
    return started;
  };

  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());
  beforeEach(async () => {
    url = await server.createDatabase();
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill()));
    await Promise.all(inboxes.splice(0).map((inbox) => inbox.close()));
  });

  it("records a message once when two replica processes receive it at the same moment", async () => {
    const [here, there] = await Promise.all([open(), replica()]);
    const message = (i: number) => [
      newEntry({ accountId: "DU1", eventKey: `e-${i}` }),
      newEntry({ accountId: "DU2", eventKey: `e-${i}` }),
    ];
    const messages = Array.from({ length: 200 }, (_, i) => message(i));
    // Both fire every message without waiting: their inserts of each one race.
    const [mine, theirs] = await Promise.all([
      Promise.all(messages.map((m) => here.record(m))),
      Promise.all(messages.map((m) => there.call("record", m) as Promise<InboxEntry[]>)),
    ]);
    const won = [...mine.flat(), ...theirs.flat()].map((e) => `${e.accountId}/${e.eventKey}`);
    expect(won).to.have.length(400);
    expect(new Set(won).size, "each account's entry new to exactly one replica").to.equal(400);
    expect((await here.counts()).pending).to.equal(400);
  });

  it("delivers each entry once across two replicas competing, one delivery at a time per account", async () => {
    const replicas = [await open(), await open()];
    const accounts = ["DU1", "DU2", "DU3", "DU4", "DU5", "DU6"];
    const total = 300;
    await replicas[0]!.record(
      Array.from({ length: total }, (_, i) =>
        newEntry({ accountId: accounts[i % accounts.length]!, eventKey: `e-${i}` }),
      ),
    );
    const delivered = new Map<number, number>();
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const perReplica = [0, 0];
    /** One dispatcher's loop: up to 4 deliveries at once, each taking a few ms. */
    const drain = (inbox: Inbox, index: number) =>
      Promise.all(
        Array.from({ length: 4 }, async () => {
          for (;;) {
            const entry = await inbox.claimNext(Date.now(), new Set());
            if (!entry) {
              if ((await inbox.counts()).pending === 0) return;
              await new Promise((resolve) => setTimeout(resolve, 5));
              continue;
            }
            const busy = (inFlight.get(entry.accountId) ?? 0) + 1;
            inFlight.set(entry.accountId, busy);
            if (busy > 1) overlaps++;
            delivered.set(entry.id, (delivered.get(entry.id) ?? 0) + 1);
            perReplica[index]!++;
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
            inFlight.set(entry.accountId, inFlight.get(entry.accountId)! - 1);
            await inbox.complete(entry.id, { runId: `r-${entry.id}`, result: "COMPLETED" });
          }
        }),
      );
    await Promise.all(replicas.map(drain));
    expect(delivered.size).to.equal(total);
    expect(
      [...delivered.values()].every((n) => n === 1),
      "no entry delivered twice",
    ).to.equal(true);
    expect(overlaps, "two deliveries of one account at once").to.equal(0);
    expect(
      perReplica.every((n) => n > 0),
      `split ${perReplica.join("/")}`,
    ).to.equal(true);
    expect((await replicas[1]!.counts()).done).to.equal(total);
  });

  it("lets another replica take the deliveries of one SIGKILLed mid-delivery, within the claim timeout", async () => {
    const [dying, survivor] = await Promise.all([replica(), open()]);
    await survivor.record([
      newEntry({ accountId: "DU1" }),
      newEntry({ accountId: "DU2" }),
      newEntry({ accountId: "DU3" }),
    ]);
    for (let i = 0; i < 3; i++) await dying.call("claimNext", Date.now(), []);
    expect(await survivor.claimNext(Date.now(), new Set()), "held by a live replica").to.equal(
      undefined,
    );
    await dying.kill();
    const killedAt = Date.now();
    const taken: InboxEntry[] = [];
    await until(
      async () => {
        const entry = await survivor.claimNext(Date.now(), new Set());
        if (entry) taken.push(entry);
        return taken.length === 3;
      },
      claimTimeoutMs + 3000,
      "taken over",
    );
    const elapsed = Date.now() - killedAt;
    expect(elapsed).to.be.below(claimTimeoutMs + 1000);
    expect(taken.map((e) => e.accountId).sort()).to.deep.equal(["DU1", "DU2", "DU3"]);
  });

  it("ignores the late outcome of a stalled replica whose claim another replica took over", async () => {
    const [stalled, other] = await Promise.all([replica(), open()]);
    const [added] = await other.record([newEntry()]);
    await stalled.call("claimNext", Date.now(), []);
    stalled.child.kill("SIGSTOP");
    try {
      const taken = await until(
        () => other.claimNext(Date.now(), new Set()),
        claimTimeoutMs + 3000,
        "taken over",
      );
      expect(taken.id).to.equal(added!.id);
      await other.complete(taken.id, { runId: "r-2", result: "COMPLETED" });
    } finally {
      stalled.child.kill("SIGCONT");
    }
    await stalled.call("kill", added!.id, "the stalled replica's verdict");
    await stalled.call("reschedule", added!.id, { at: 0, reason: "nor this" });
    expect(await other.get(added!.id)).to.include({ state: "done", runId: "r-2", reason: "" });
  });

  it("returns to pending on start only the deliveries whose replica is gone", async () => {
    const [alive, dead] = await Promise.all([replica(), replica()]);
    const starting = await open();
    const [kept, lost] = await starting.record([
      newEntry({ accountId: "DU1" }),
      newEntry({ accountId: "DU2" }),
    ]);
    expect(await alive.call("claimNext", Date.now(), ["DU2"])).to.include({ id: kept!.id });
    expect(await dead.call("claimNext", Date.now(), [])).to.include({ id: lost!.id });
    await dead.kill();
    await new Promise((resolve) => setTimeout(resolve, claimTimeoutMs + 200));
    expect(await starting.recoverInFlight()).to.equal(1);
    expect(await starting.get(lost!.id)).to.include({ state: "pending" });
    expect(await starting.get(kept!.id)).to.include({ state: "in_flight" });
  });
});
