import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import * as Ably from "ably";
import { expect } from "chai";
import { createLogger } from "@mesh/platform/logger";
import { startRebalancer } from "@mesh/rebalancer/app";
import { stays, until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../src/app.js";
import {
  createRebalancerClient,
  type RebalancerClient,
} from "../src/delivery/rebalancer-client.js";
import { startAblyEmulator, type AblyEmulator } from "./ably-emulator/ably-emulator.js";
import { postEvent, scratchDir, simAccountsYaml, testConfig } from "./support/test-subscriber.js";

/** Two accounts of the simulated broker's bundled state, one per strategy. */
const accountsYaml = simAccountsYaml(["DU1000001", "DU1000002"]);

interface LogLine {
  msg: string;
  event?: string;
  sequence?: number;
  runId?: string;
}

describe("end to end: Ably emulator -> subscriber -> rebalancer on the simulated broker", function () {
  this.timeout(30_000);
  let scratch: ReturnType<typeof scratchDir>;
  let emulator: AblyEmulator;
  let rest: Ably.Rest;
  let rebalancer: Awaited<ReturnType<typeof startRebalancer>> | undefined;
  let client: RebalancerClient;
  let subscriber: Subscriber;
  let logs: LogLine[];

  const startRebalancerAt = async (port = 0) => {
    rebalancer = await startRebalancer({
      accountsFile: scratch.accountsFile,
      dataDir: join(scratch.dir, "rebalancer"),
      tradingMode: "paper",
      host: "127.0.0.1",
      port,
    });
    return rebalancer;
  };
  const runsOf = async (accountId: string) => (await client.service.listRuns({ accountId })).runs;
  const doneCount = async () => (await subscriber.inbox.counts()).done;
  const publish = (channel: string, data: unknown) =>
    rest.channels.get(channel).publish("event", data);

  beforeEach(async () => {
    scratch = scratchDir();
    writeFileSync(scratch.accountsFile, accountsYaml);
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000 });
    rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    const { url } = await startRebalancerAt();
    client = createRebalancerClient({ url });
    logs = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean))
          logs.push(JSON.parse(line));
        done();
      },
    });
    const { endpoint, port } = emulator.clientOptions();
    subscriber = await startSubscriber(
      testConfig(scratch.dir, url, { realtime: { key: emulator.key, endpoint, port } }),
      { logger: createLogger({ name: "test", destination: sink }) },
    );
    await until(
      () => subscriber.status().realtime.channels["etf-blend-301-20"]?.state === "attached",
      5000,
      "attached",
    );
  });
  afterEach(async () => {
    await subscriber.close();
    client.close();
    await rebalancer?.close(100);
    await emulator.close();
    scratch.remove();
  });

  it("runs a published rebalance exactly once and streams its progress back", async () => {
    await publish("etf-blend-301-20", { exec: "rebalance", eventId: "e2e-1" });
    await until(async () => (await doneCount()) === 1, 15_000, "run done");
    const runs = await runsOf("DU1000001");
    expect(runs).to.have.length(1);
    expect(runs[0]!.trigger).to.include({ source: "subscriber", eventId: "e2e-1" });
    expect(runs[0]!.idempotencyKey).to.equal("e2e-1/DU1000001");
    const [entry] = await subscriber.inbox.list({ state: "done" });
    expect(entry!.runId).to.equal(runs[0]!.runId);
    expect(entry!.result).to.match(/^COMPLETED/);
    const progress = logs.filter((l) => l.msg === "run progress");
    expect(progress[0]).to.include({ event: "accepted", sequence: 1 });
    expect(progress.at(-1)!.event).to.equal("completed");
    expect(progress.map((l) => l.event)).to.include.members(["plan", "orderSubmitted"]);
    expect(await runsOf("DU1000002")).to.have.length(0);
  });

  it("makes one run of a message delivered twice, over realtime and over the plain ingress", async () => {
    const payload = { exec: "rebalance", eventId: "e2e-dup" };
    await publish("etf-blend-200-35", payload);
    await publish("etf-blend-200-35", payload);
    await postEvent(subscriber.url, "etf-blend-200-35", payload);
    await until(async () => (await doneCount()) === 1, 15_000, "run done");
    // Nothing signals a run that does not happen: watch for 6 inbox poll intervals (50 ms each).
    await stays(async () => (await runsOf("DU1000002")).length === 1, 300, "one run");
    expect(await runsOf("DU1000002")).to.have.length(1);
  });

  it("makes one run when two replicas, each with its own inbox, receive the same message", async () => {
    const { endpoint, port } = emulator.clientOptions();
    const replica = await startSubscriber(
      testConfig(scratch.dir, rebalancer!.url, {
        dataDir: join(scratch.dir, "replica"),
        realtime: { key: emulator.key, endpoint, port },
      }),
      { logger: createLogger({ name: "test", level: "silent" }) },
    );
    try {
      await until(
        () => replica.status().realtime.channels["etf-blend-200-35"]?.state === "attached",
        5000,
        "replica attached",
      );
      await publish("etf-blend-200-35", { exec: "rebalance", eventId: "e2e-replicas" });
      await until(
        async () => (await doneCount()) === 1 && (await replica.inbox.counts()).done === 1,
        15_000,
        "both replicas done",
      );
      expect(await runsOf("DU1000002")).to.have.length(1);
    } finally {
      await replica.close();
    }
  });

  it("keeps a message while the rebalancer is down and runs it once when it is back", async () => {
    const port = rebalancer!.port;
    await rebalancer!.close(100);
    rebalancer = undefined;
    await publish("etf-blend-301-20", { exec: "rebalance", eventId: "e2e-outage" });
    await until(
      async () => ((await subscriber.inbox.list())[0]?.attempts ?? 0) >= 2,
      5000,
      "retried",
    );
    expect((await subscriber.inbox.counts()).done).to.equal(0);
    await startRebalancerAt(port);
    await until(async () => (await doneCount()) === 1, 15_000, "run done");
    expect(await runsOf("DU1000001")).to.have.length(1);
  });

  it("processes every message published while the connection was dropped, once", async () => {
    emulator.refuseConnections(true);
    emulator.dropConnections();
    await until(() => subscriber.status().realtime.state !== "connected");
    await publish("etf-blend-301-20", { exec: "print-rebalance", eventId: "gap-1" });
    await publish("etf-blend-200-35", { exec: "print-rebalance", eventId: "gap-2" });
    emulator.refuseConnections(false);
    await until(async () => (await doneCount()) === 2, 15_000, "runs done");
    // Nothing signals a run that does not happen: watch for 6 inbox poll intervals (50 ms each).
    await stays(async () => (await doneCount()) === 2, 300, "no message delivered twice");
    expect(await runsOf("DU1000001")).to.have.length(1);
    expect(await runsOf("DU1000002")).to.have.length(1);
  });

  it("records malformed payloads as rejected and trades nothing", async () => {
    await publish("etf-blend-301-20", "{oops");
    await publish("etf-blend-301-20", { exec: "buy-everything", eventId: "bad" });
    await publish("etf-blend-301-20", { note: "no command" });
    await until(async () => (await subscriber.inbox.counts()).rejected === 3, 5000, "rejected");
    // Nothing signals a run that does not happen: watch for 6 inbox poll intervals (50 ms each).
    await stays(async () => (await runsOf("DU1000001")).length === 0, 300, "no run");
    expect(await runsOf("DU1000001")).to.have.length(0);
    const reasons = (await subscriber.inbox.list({ state: "rejected" })).map((e) => e.reason);
    expect(reasons).to.have.members([
      "payload is not JSON",
      'unknown exec "buy-everything"; expected one of rebalance, print-rebalance, print-positions, print-equity, print-orders, cancel-orders',
      'payload has neither exec nor execution (unknown field "note")',
    ]);
  });
});
