// The whole mesh replicated, as processes: PostgreSQL (one database for both services), the TWS
// test server as its own process, two rebalancers (client ids 30 and 31) and two subscribers on
// the local Ably emulator, each subscriber delivering to its own rebalancer. Every subscriber
// receives every message; the inbox records each delivery once, the replicas compete for them,
// and the rebalancers' leases keep one run per account at a time across replicas.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { freePort } from "@mesh/platform/testing/free-port";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import { RebalancerService, RunStatus, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import pg from "pg";
import {
  startAblyEmulator,
  type AblyEmulator,
} from "../../subscriber/test/ably-emulator/ably-emulator.js";
import {
  answering,
  exited,
  spawnSubscriber,
  type RunningProcess,
} from "../../subscriber/test/support/subscriber-process.js";
import { recordAndServer, writeTwsAccounts } from "./support/rebalancer-against-tws.js";
import { startRebalancerProcess, type RebalancerProcess } from "./support/rebalancer-process.js";
import { startTwsServerProcess, type TwsServerProcess } from "./support/tws-server-process.js";

const channel = "test-blend";
const accounts = Array.from({ length: 10 }, (_, i) => `DU2000${String(i + 1).padStart(3, "0")}`);
const events = 20;
/** Short, so a SIGKILLed subscriber's delivery is taken over quickly. */
const claimTimeoutSeconds = 2;

interface Entry {
  id: number;
  account_id: string;
  state: string;
  claimed_by: string;
  attempts: number;
  run_id: string;
  result: string;
  reason: string;
}

describe("the mesh replicated on PostgreSQL: 2 subscribers, 2 rebalancers, as processes", function () {
  this.timeout(170_000);
  let postgres: TestPostgres;
  let tws: TwsServerProcess | undefined;
  let emulator: AblyEmulator | undefined;
  let database: pg.Pool | undefined;
  const rebalancers: RebalancerProcess[] = [];
  const subscribers: RunningProcess[] = [];
  before(async () => {
    postgres = await startTestPostgres();
  });
  after(async () => {
    for (const { child } of subscribers) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await Promise.all(rebalancers.map((r) => r.kill()));
    await database?.end();
    await emulator?.close();
    await tws?.stop();
    await postgres.stop();
  });

  it(`${events} events fanned out to ${accounts.length} accounts: exactly ${events * accounts.length} runs, none twice, a subscriber SIGKILLed mid-delivery replaced by the other`, async () => {
    tws = await startTwsServerProcess({
      TWS_ACCOUNTS: accounts.join(","),
      TWS_FILL_INTERVAL_MS: "20",
    });
    emulator = await startAblyEmulator({ connectionStateTtl: 60_000 });
    const databaseUrl = await postgres.createDatabase();
    database = new pg.Pool({ connectionString: databaseUrl });
    const dir = mkdtempSync(join(tmpdir(), "mesh-replicas-"));
    const accountsFile = writeTwsAccounts(dir, accounts);
    rebalancers.push(
      ...(await Promise.all(
        [0, 1].map(async (ordinal) =>
          startRebalancerProcess({
            API_PORT: String(await freePort()),
            DATA_DIR: join(dir, `rebalancer-${ordinal}`),
            ACCOUNTS_FILE: accountsFile,
            DATABASE_URL: databaseUrl,
            REPLICA_ORDINAL: String(ordinal),
            ACCOUNT_LEASE_SECONDS: "4",
            BROKER: "ibkr",
            IBKR_HOST: "127.0.0.1",
            IBKR_PORT: String(tws!.port),
            IBKR_CLIENT_ID: String(30 + ordinal),
          }),
        ),
      )),
    );
    for (const [i, rebalancer] of rebalancers.entries()) {
      const port = await freePort();
      const run = spawnSubscriber({
        ACCOUNTS_FILE: accountsFile,
        DATA_DIR: join(dir, `subscriber-${i}`),
        DATABASE_URL: databaseUrl,
        DELIVERY_CLAIM_TIMEOUT: String(claimTimeoutSeconds),
        // Every account at once: runs of one account wait for each other, not for other accounts.
        DELIVERY_CONCURRENCY: String(accounts.length),
        SUBSCRIBER_PORT: String(port),
        REBALANCER_API_URL: rebalancer.url,
        REALTIME_API_KEY: emulator.key,
        ABLY_ENDPOINT: "127.0.0.1",
        ABLY_PORT: String(emulator.port),
        ABLY_TLS: "false",
      });
      subscribers.push(run);
      const url = `http://127.0.0.1:${port}`;
      await answering(url, run, 30_000);
      await until(
        async () => {
          const status = (await (await fetch(`${url}/status`)).json()) as {
            realtime: { channels: Record<string, { state: string }> };
          };
          return status.realtime.channels[channel]?.state === "attached";
        },
        15_000,
        `subscriber ${i} attached; output:\n${run.output()}`,
      );
    }
    const entries = async () =>
      (await database!.query<Entry>("SELECT * FROM inbox ORDER BY id")).rows;

    for (let i = 0; i < events; i++) {
      emulator.publish(channel, [
        { name: "event", data: { exec: "rebalance", eventId: `e-${i}` } },
      ]);
    }
    // Mid-delivery: the subscriber holding a claim dies, with deliveries still to come.
    const holder = await until(
      async () => {
        const all = await entries();
        const done = all.filter((e) => e.state === "done").length;
        return done >= 20 ? all.find((e) => e.state === "in_flight")?.claimed_by : undefined;
      },
      60_000,
      "deliveries under way",
    );
    const pid = Number(holder.split(":").at(-2));
    const dying = subscribers.find((s) => s.child.pid === pid)!;
    expect(dying, `the holder ${holder} is one of ours`).to.not.equal(undefined);
    dying.child.kill("SIGKILL");
    await exited(dying.child);
    const survivor = subscribers.find((s) => s !== dying)!;

    const total = events * accounts.length;
    const started = Date.now();
    await until(
      async () => {
        const all = await entries();
        const ended = all.filter((e) => e.state === "done" || e.state === "dead").length;
        return ended === total || all.some((e) => e.state === "dead");
      },
      120_000,
      `${total} deliveries done`,
      250,
    ).catch(async (err: Error) => {
      const counts: Record<string, number> = {};
      for (const e of await entries())
        counts[`${e.state} ${e.result}`.trim()] =
          (counts[`${e.state} ${e.result}`.trim()] ?? 0) + 1;
      throw new Error(
        `${err.message}: ${JSON.stringify(counts)}; survivor's output:\n${survivor.output().slice(-3000)}`,
      );
    });
    const dead = (await entries()).filter((e) => e.state === "dead");
    expect(dead.map((e) => `${e.account_id} ${e.run_id}: ${e.reason}`)).to.deep.equal([]);
    console.log(`      ${total} deliveries done ${Date.now() - started} ms after the SIGKILL`);
    const all = await entries();
    expect(
      all,
      "each delivery recorded once, though both subscribers took every message",
    ).to.have.length(total);
    expect(all.filter((e) => !e.result.startsWith("COMPLETED")).map((e) => e.result)).to.deep.equal(
      [],
    );
    expect(
      all.some((e) => e.attempts > 1),
      "a delivery the dead subscriber held went again",
    ).to.equal(true);

    // Runs: one per delivery, each completed, no idempotency key twice, on either replica.
    const client = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: rebalancers[1]!.url, httpVersion: "1.1" }),
    );
    const runs: Run[] = [];
    for (const accountId of accounts) {
      runs.push(...(await client.listRuns({ accountId, limit: 100 })).runs);
    }
    expect(runs).to.have.length(total);
    expect(new Set(runs.map((r) => `${r.accountId} ${r.idempotencyKey}`)).size).to.equal(total);
    const completed = [RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ADJUSTMENTS];
    expect(runs.filter((r) => !completed.includes(r.status)).map((r) => r.message)).to.deep.equal(
      [],
    );
    expect(new Set(all.map((e) => e.run_id))).to.deep.equal(new Set(runs.map((r) => r.runId)));

    // At the broker: orders only of those runs, none ordered twice, records equal to the server.
    const state = await tws.state();
    const runIds = new Set(runs.map((r) => r.runId));
    expect(state.orders.filter((o) => !runIds.has(o.orderRef))).to.deep.equal([]);
    const lines = state.orders.map((o) => `${o.orderRef} ${o.action} ${o.symbol}`);
    expect(lines.filter((line, i) => lines.indexOf(line) !== i)).to.deep.equal([]);
    for (const runId of new Set(state.orders.map((o) => o.orderRef))) {
      const { run } = await client.getRun({ runId });
      const { record, server } = recordAndServer(run as Run, state);
      expect(record, runId).to.deep.equal(server);
    }
    // Both replicas traded: the accounts were spread over both client ids by the leases.
    console.log(
      `      orders by client id: ${JSON.stringify(
        Object.fromEntries(
          [30, 31].map((id) => [id, state.orders.filter((o) => o.clientId === id).length]),
        ),
      )}`,
    );
  });
});
