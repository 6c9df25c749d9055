import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  RebalancerService,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createSimBroker } from "../src/broker/sim/sim-broker.js";

const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

async function collect(stream: AsyncIterable<RebalanceResponse>): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
}

describe("idempotency keys", () => {
  let app: RunningRebalancer;
  let grpc: Client<typeof RebalancerService>;

  beforeEach(async () => {
    app = await startRebalancer({
      accountsFile,
      dataDir: mkdtempSync(join(tmpdir(), "rebalancer-")),
      broker: createSimBroker({ fillDelayMs: 5 }),
    });
    // One transport: every call shares one HTTP/2 connection.
    grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
  });
  afterEach(() => app.close(1_000));

  it("answers 20 concurrent repeats of a finished run's key over one HTTP/2 connection", async () => {
    // Waiting when busy: over HTTP/2 the calls reach the server in any order.
    const request = {
      accountId: "DU1000001",
      mode: ExecutionMode.LIVE,
      idempotencyKey: "k-1",
      waitIfBusy: true,
    };
    const first = await collect(grpc.rebalance(request));
    const repeats = Array.from({ length: 20 }, () => collect(grpc.rebalance(request)));
    const other = collect(grpc.rebalance({ ...request, idempotencyKey: "k-2" })).then(
      (events) => ({ events, error: undefined }),
      (error: unknown) => ({ events: [], error: ConnectError.from(error) }),
    );
    const answers = await Promise.all(repeats);
    for (const events of answers) {
      expect(events.map((e) => e.runId)).to.deep.equal(first.map((e) => e.runId));
      expect(events.every((e) => e.replayed)).to.equal(true);
    }
    const { events, error } = await other;
    expect(error).to.equal(undefined);
    expect(events.at(-1)?.event.case).to.equal("completed");
    expect(events[0]?.runId).not.to.equal(first[0]?.runId);
  });

  it("refuses a key reused with another mode with failed_precondition naming its run", async () => {
    const request = { accountId: "DU1000001", mode: ExecutionMode.DRY_RUN, idempotencyKey: "k-3" };
    const first = await collect(grpc.rebalance(request));
    const runId = first[0]!.runId;
    const error = await refusal(collect(grpc.rebalance({ ...request, mode: ExecutionMode.LIVE })));
    expect(error.code).to.equal(Code.FailedPrecondition);
    expect(error.rawMessage).to.contain(runId).and.contain("mode");
    expect((await grpc.listOpenOrders({ accountId: "DU1000001" })).orders).to.deep.equal([]);
    const runs = await grpc.listRuns({ accountId: "DU1000001" });
    expect(runs.runs.map((r) => r.runId)).to.deep.equal([runId]);
  });

  it("refuses a key reused with another triggering event", async () => {
    const request = {
      accountId: "DU1000001",
      mode: ExecutionMode.DRY_RUN,
      idempotencyKey: "k-4",
      trigger: { source: "subscriber", eventId: "evt-1" },
    };
    await collect(grpc.rebalance(request));
    const error = await refusal(
      collect(grpc.rebalance({ ...request, trigger: { source: "subscriber", eventId: "evt-2" } })),
    );
    expect(error.code).to.equal(Code.FailedPrecondition);
    expect(error.rawMessage).to.contain("triggering event");
  });

  it("answers a reused key with another mode over REST with 409 naming the run", async () => {
    const body = { idempotency_key: "k-5", execution_mode: "dry_run" };
    const post = (mode: string) =>
      fetch(`${app.url}/rebalance/DU1000001`, {
        method: "POST",
        body: JSON.stringify({ ...body, execution_mode: mode }),
      });
    const first = await post("dry_run");
    expect(first.status).to.equal(200);
    const conflict = await post("rebalance");
    expect(conflict.status).to.equal(409);
    const answer = (await conflict.json()) as { code: string; message: string };
    expect(answer.code).to.equal("failed_precondition");
    expect(answer.message).to.match(/belongs to run run-/);
  });
});
