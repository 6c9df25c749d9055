import { join } from "node:path";
import { parseAccounts } from "@mesh/platform/accounts";
import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { createLogger } from "@mesh/platform/logger";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import { until } from "@mesh/platform/testing/until";
import {
  ExecutionMode,
  RunStatus,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { createAccountGate } from "../accounts/account-gate.js";
import { createAllocationProvider } from "../allocations/allocation-provider.js";
import { createFileAllocations } from "../allocations/file-allocations.js";
import { createHttpAllocations } from "../allocations/http-allocations.js";
import type { OrderRequest } from "../broker/broker.js";
import { createSimBroker } from "../broker/sim/sim-broker.js";
import { createPostgresAccountLeases } from "./postgres-account-leases.js";
import { openPostgresRunStore } from "./postgres-run-store.js";
import { createRunCoordinator, type RunCoordinator, type RunRequest } from "./run-coordinator.js";
import { accepted } from "./run-store.contract.js";
import { RunRefusal } from "./run-refusal.js";
import type { AccountLeases } from "./account-leases.js";

const root = new URL("../../../", import.meta.url).pathname;
const configured = parseAccounts(
  `
defaults: { allocation_url: "file:rebalancer/allocations/{strategy}.yaml", min_order_value: 50 }
accounts:
  - { account_id: DU1000001, type: paper, strategy: etf-blend-301-20 }
`,
  join(root, "accounts.yaml"),
).accounts;

/** Every event of a stream, or the error it ended with. */
async function drain(stream: AsyncIterable<RebalanceResponse>) {
  const events: RebalanceResponse[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events };
  } catch (err) {
    return { events, error: err as Error };
  }
}

describe("the run coordinator with account leases (replicas on PostgreSQL)", function () {
  this.timeout(60_000);
  let server: TestPostgres;
  const closing: (() => Promise<unknown>)[] = [];
  before(async () => {
    server = await startTestPostgres();
  });
  after(() => server.stop());
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** Two replicas on one fresh database, trading through one simulated broker. */
  async function replicas(fillDelayMs: number) {
    const url = parseDatabaseUrl(await server.createDatabase());
    const placed: OrderRequest[] = [];
    const broker = createSimBroker({ fillDelayMs });
    const place = broker.placeOrder.bind(broker);
    broker.placeOrder = (request) => {
      placed.push(request);
      return place(request);
    };
    const replica = async (name: string) => {
      const fence = { held: (): ReturnType<AccountLeases["held"]> => [] };
      const store = await openPostgresRunStore(url, { fence });
      const leases = createPostgresAccountLeases({
        pool: store.pool,
        replica: name,
        brokerClient: 0,
        leaseMs: 1_000,
      });
      fence.held = () => leases.held();
      const coordinator = createRunCoordinator({
        store,
        leases,
        followPollMs: 50,
        gate: createAccountGate({ accounts: configured, tradingMode: "paper" }),
        logger: createLogger({ name: name, level: "silent" }),
        execution: {
          broker,
          allocations: createAllocationProvider({
            file: createFileAllocations(),
            http: createHttpAllocations({}),
          }),
          now: () => new Date(),
          fillTimeoutMs: 10_000,
        },
      });
      closing.push(async () => {
        await coordinator.drain(0);
        await leases.close();
        await store.close();
      });
      return { coordinator, store, leases };
    };
    return { a: await replica("a"), b: await replica("b"), placed };
  }
  const live = (key: string, more: Partial<RunRequest> = {}): RunRequest => ({
    accountId: "DU1000001",
    mode: ExecutionMode.LIVE,
    idempotencyKey: key,
    waitIfBusy: false,
    ...more,
  });
  const refusalOf = (coordinator: RunCoordinator, request: RunRequest) =>
    coordinator.start(request).then(
      () => undefined,
      (err: unknown) => err as RunRefusal,
    );

  it("follows a run another replica runs for the same key, refuses another key as busy, and waits when asked", async () => {
    const { a, b } = await replicas(200);
    const first = drain(await a.coordinator.start(live("k1")));
    const followed = drain(await b.coordinator.start(live("k1")));
    const busy = await refusalOf(b.coordinator, live("k2"));
    expect(busy).to.be.instanceOf(RunRefusal);
    expect(busy!.code).to.equal("busy");
    expect(busy!.message).to.contain("on another replica");
    const waited = drain(await b.coordinator.start(live("k3", { waitIfBusy: true })));
    const [mine, theirs, after] = await Promise.all([first, followed, waited]);
    expect(mine.events.at(-1)?.event.case).to.equal("completed");
    expect(theirs.events.map((e) => e.runId)).to.deep.equal(mine.events.map((e) => e.runId));
    expect(theirs.events.at(-1)?.event.case).to.equal("completed");
    expect(after.events[0]!.runId, "a run of its own, once the account was free").to.not.equal(
      mine.events[0]!.runId,
    );
    expect(after.events.at(-1)?.event.case).to.equal("completed");
  });

  it("stops a run whose replica lost the account's lease: its next write is refused and nothing more is placed", async () => {
    const { a, placed } = await replicas(400);
    const seen: RebalanceResponse[] = [];
    const stream = await a.coordinator.start(live("k1"));
    const running = (async () => {
      try {
        for await (const event of stream) seen.push(event);
      } catch (err) {
        return err as Error;
      }
    })();
    await until(() => placed.length > 0, 10_000, "an order placed");
    // Another replica took the account over (as after a pause longer than the lease).
    await a.store.pool.query("UPDATE account_leases SET token = token + 1, owner = 'other'");
    const error = await running;
    expect(error, "the stream ends with the refusal").to.be.instanceOf(RunRefusal);
    expect((error as RunRefusal).code).to.equal("not_recorded");
    const count = placed.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(placed.length, "nothing placed after the lease was lost").to.equal(count);
    expect(seen.some((e) => e.event.case === "completed")).to.equal(false);
  });

  it("resumes a run left running on an account no replica holds before starting another there", async () => {
    const { b } = await replicas(5);
    // A replica that died right after recording the run's acceptance.
    const left = accepted("run-left", "left", "DU1000001"); // a live run
    await b.store.pool.query(
      "INSERT INTO account_leases VALUES ('DU1000001', 'dead', 0, 1, now() - interval '1 s')",
    );
    const held = [{ accountId: "DU1000001", token: 1 }];
    const dead = await openPostgresRunStore(
      parseDatabaseUrl(b.store.pool.options.connectionString!),
      {
        fence: { held: () => held },
      },
    );
    await dead.begin(left);
    await dead.close();

    const refused = await refusalOf(b.coordinator, live("new"));
    expect(refused?.code).to.equal("busy");
    expect(refused?.message).to.contain("run-left");
    await until(
      async () => (await b.store.get("run-left"))?.status === RunStatus.COMPLETED,
      15_000,
      "the left run resumed to its end",
    );
    const resumed = await b.store.get("run-left");
    expect(resumed?.resumptions).to.have.length(1);
    expect(await b.leases.orphans()).to.deep.equal([]);
  });
});
