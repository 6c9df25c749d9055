import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as Ably from "ably";
import { expect } from "chai";
import pg from "pg";
import { RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { startRebalancer } from "@mesh/rebalancer/app";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import {
  createRebalancerClient,
  type RebalancerClient,
} from "../src/delivery/rebalancer-client.js";
import { startAblyEmulator, type AblyEmulator } from "./ably-emulator/ably-emulator.js";
import {
  answering,
  exited,
  freePort,
  spawnSubscriber,
  type RunningProcess,
} from "./support/subscriber-process.js";
import { getJson, scratchDir, simAccountsYaml } from "./support/test-subscriber.js";

const channels = { DU1000001: "etf-blend-301-20", DU1000002: "etf-blend-200-35" } as const;
type AccountId = keyof typeof channels;
/** Short, so a SIGKILLed replica's delivery is taken over quickly; long enough for a busy machine. */
const claimTimeoutSeconds = 2;

describe("replicas: two subscriber processes on one PostgreSQL database, both on the Ably emulator, delivering to the rebalancer", function () {
  this.timeout(90_000);
  let server: TestPostgres;
  let scratch: ReturnType<typeof scratchDir>;
  let emulator: AblyEmulator;
  let rest: Ably.Rest;
  let rebalancer: Awaited<ReturnType<typeof startRebalancer>>;
  let client: RebalancerClient;
  let database: pg.Pool;
  let replicas: (RunningProcess & { url: string })[];

  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());

  /** The rebalancer on the simulated broker, whose fills take `fillDelayMs`; then two replicas. */
  const start = async (fillDelayMs: number) => {
    rebalancer = await startRebalancer({
      accountsFile: scratch.accountsFile,
      dataDir: join(scratch.dir, "rebalancer"),
      broker: createSimBroker({ fillDelayMs }),
    });
    client = createRebalancerClient({ url: rebalancer.url });
    const url = await server.createDatabase();
    database = new pg.Pool({ connectionString: url });
    // Started together: both create the schema at once.
    replicas = await Promise.all(
      ["a", "b"].map(async (name) => {
        const port = await freePort();
        const run = spawnSubscriber({
          ACCOUNTS_FILE: scratch.accountsFile,
          DATA_DIR: join(scratch.dir, name),
          DATABASE_URL: url,
          DELIVERY_CLAIM_TIMEOUT: String(claimTimeoutSeconds),
          SUBSCRIBER_PORT: String(port),
          REBALANCER_API_URL: rebalancer.url,
          REALTIME_API_KEY: emulator.key,
          ABLY_ENDPOINT: "127.0.0.1",
          ABLY_PORT: String(emulator.port),
          ABLY_TLS: "false",
        });
        const replica = { ...run, url: `http://127.0.0.1:${port}` };
        await answering(replica.url, run, 30_000);
        return replica;
      }),
    );
    for (const replica of replicas) {
      await until(
        async () => {
          const { body } = await getJson(`${replica.url}/status`);
          const realtime = body.realtime as { channels: Record<string, { state: string }> };
          return Object.values(channels).every((c) => realtime.channels[c]?.state === "attached");
        },
        15_000,
        `attached; output:\n${replica.output()}`,
      );
    }
  };
  const publish = (accountId: AccountId, eventId: string) =>
    rest.channels.get(channels[accountId]).publish("event", { exec: "rebalance", eventId });
  const runsOf = async (accountId: AccountId) =>
    (await client.service.listRuns({ accountId, limit: 500 })).runs;
  const entries = async () =>
    (
      await database.query<{ state: string; claimed_by: string; attempts: number }>(
        "SELECT state, claimed_by, attempts FROM inbox ORDER BY id",
      )
    ).rows;

  beforeEach(async () => {
    scratch = scratchDir();
    writeFileSync(scratch.accountsFile, simAccountsYaml(["DU1000001", "DU1000002"]));
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000 });
    rest = new Ably.Rest({ ...emulator.clientOptions(), logLevel: 0 });
    replicas = [];
  });
  afterEach(async () => {
    for (const { child } of replicas) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await database?.end();
    client?.close();
    await rebalancer?.close(100);
    await emulator.close();
    scratch.remove();
  });

  it("makes exactly one run per event when both replicas receive every event", async () => {
    await start(5);
    const events = Array.from({ length: 20 }, (_, i) => ({
      accountId: (i % 2 === 0 ? "DU1000001" : "DU1000002") as AccountId,
      eventId: `replicas-${i}`,
    }));
    for (const { accountId, eventId } of events) await publish(accountId, eventId);
    await until(
      async () => (await entries()).filter((e) => e.state === "done").length === 20,
      60_000,
      "20 entries done",
    );
    const runs = [...(await runsOf("DU1000001")), ...(await runsOf("DU1000002"))];
    expect(runs).to.have.length(20);
    expect(new Set(runs.map((r) => r.idempotencyKey))).to.deep.equal(
      new Set(events.map((e) => `${e.eventId}/${e.accountId}`)),
    );
    // Recorded once although both replicas took every message in.
    expect(await entries()).to.have.length(20);
  });

  it("delivers through the other replica when the one delivering is SIGKILLed mid-delivery", async () => {
    // Each fill takes 1.5 s: the run is still going when its deliverer dies.
    await start(1500);
    await publish("DU1000001", "killed-mid-delivery");
    const holder = await until(
      async () => (await entries()).find((e) => e.state === "in_flight")?.claimed_by,
      15_000,
      "claimed",
    );
    await until(async () => (await runsOf("DU1000001")).length === 1, 15_000, "run started");
    // claimed_by is host:pid:random.
    const pid = Number(holder.split(":").at(-2));
    const dying = replicas.find((r) => r.child.pid === pid)!;
    const survivor = replicas.find((r) => r !== dying)!;
    dying.child.kill("SIGKILL");
    await exited(dying.child);

    await until(
      async () => (await entries())[0]?.state === "done",
      claimTimeoutSeconds * 1000 + 30_000,
      `delivered by the survivor; output:\n${survivor.output()}`,
    );
    const [entry] = await entries();
    expect(entry!.claimed_by).to.not.equal(holder);
    expect(entry!.attempts).to.equal(2);
    const runs = await runsOf("DU1000001");
    expect(runs, "one run: the survivor followed the one already going").to.have.length(1);
    expect(runs[0]!.status).to.equal(RunStatus.COMPLETED);
  });
});
