import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import {
  ExecutionMode,
  RebalancerService,
  RunStatus,
  type RebalanceResponse,
  type WatchRunsResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { WatchRunsRequestSchema } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createSimBroker } from "../src/broker/sim/sim-broker.js";

const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));
const first = "DU1000001";
const second = "DU1000002";

type Service = Client<typeof RebalancerService>;

/** A watch read one response at a time, ended by `stop`. */
interface Watch {
  next(): Promise<WatchRunsResponse>;
  /** Reads until `done` says the responses read so far (this call's) are enough. */
  until(done: (read: WatchRunsResponse[]) => boolean): Promise<WatchRunsResponse[]>;
  stop(): void;
}

function watch(client: Service, request: MessageInitShape<typeof WatchRunsRequestSchema>): Watch {
  const abort = new AbortController();
  const responses = client.watchRuns(request, { signal: abort.signal })[Symbol.asyncIterator]();
  const next = async () => {
    const result = await responses.next();
    if (result.done) throw new Error("the watch ended");
    return result.value;
  };
  return {
    next,
    async until(done) {
      const read: WatchRunsResponse[] = [];
      while (!done(read)) read.push(await next());
      return read;
    },
    stop: () => abort.abort(),
  };
}

async function run(
  client: Service,
  accountId: string,
  idempotencyKey = "",
): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  for await (const event of client.rebalance({ accountId, idempotencyKey })) events.push(event);
  return events;
}

/** What a watch and a Rebalance stream both tell of an event, to compare the two. */
const told = (e: RebalanceResponse) => `${e.runId} ${e.sequence} ${e.event.case}`;
const toldOf = (read: WatchRunsResponse[]) => read.map((r) => told(r.event!));

/** True once the final event of each run is among `read`. */
const finalOf =
  (...runIds: string[]) =>
  (read: WatchRunsResponse[]) =>
    runIds.every((id) =>
      read.some(
        (r) =>
          r.runId === id && ["completed", "failed", "postponed"].includes(r.event!.event.case!),
      ),
    );

describe("WatchRuns", () => {
  let app: RunningRebalancer;
  let grpc: Service;
  let connectJson: Service;

  beforeEach(async () => {
    app = await startRebalancer({
      accountsFile,
      dataDir: mkdtempSync(join(tmpdir(), "watch-runs-")),
      broker: createSimBroker({ fillDelayMs: 5 }),
    });
    grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    connectJson = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: app.url, httpVersion: "1.1", useBinaryFormat: false }),
    );
  });
  afterEach(() => app.close(1_000));

  it("tells every event of runs on two accounts, each run's in its order, as their streams told them", async () => {
    const watcher = watch(grpc, {});
    const start = await watcher.next();
    expect(start.runId).to.equal("");
    expect(start.resumeToken).to.not.equal("");
    const [a, b] = await Promise.all([run(grpc, first), run(grpc, second)]);
    const read = await watcher.until(finalOf(a[0]!.runId, b[0]!.runId));
    watcher.stop();
    for (const [accountId, events] of [
      [first, a],
      [second, b],
    ] as const) {
      const runId = events[0]!.runId;
      const ofRun = read.filter((r) => r.runId === runId);
      expect(toldOf(ofRun)).to.deep.equal(events.map(told));
      expect(ofRun.every((r) => r.accountId === accountId)).to.equal(true);
      expect(ofRun.at(-1)!.status).to.equal(RunStatus.COMPLETED);
      expect(ofRun.slice(0, -1).every((r) => r.status === RunStatus.RUNNING)).to.equal(true);
      expect(ofRun.every((r) => r.mode === ExecutionMode.DRY_RUN && !r.event!.replayed)).to.equal(
        true,
      );
    }
    expect(new Set(read.map((r) => r.resumeToken)).size).to.equal(read.length);
  });

  it("gives a watcher that resumes with its token every event it missed exactly once, then goes on live", async () => {
    const watcher = watch(grpc, {});
    await watcher.next();
    const a = await run(grpc, first);
    // Gone after the third event of the first run.
    const before = await watcher.until((read) => read.length === 3);
    watcher.stop();
    const b = await run(grpc, second);

    const resumed = watch(connectJson, { resumeToken: before.at(-1)!.resumeToken });
    await resumed.next();
    const missed = await resumed.until(finalOf(a[0]!.runId, b[0]!.runId));
    expect(toldOf(missed)).to.deep.equal([...a.slice(3), ...b].map(told));
    expect(missed.every((r) => r.event!.replayed)).to.equal(true);
    const c = await run(grpc, first);
    const live = await resumed.until(finalOf(c[0]!.runId));
    resumed.stop();
    expect(toldOf(live)).to.deep.equal(c.map(told));
    expect(live.every((r) => !r.event!.replayed)).to.equal(true);
  });

  it("tells only the events of the accounts and statuses asked for", async () => {
    const watcher = watch(grpc, { accountIds: [second], statuses: [RunStatus.COMPLETED] });
    await watcher.next();
    await run(grpc, first);
    const b = await run(grpc, second);
    const [only] = await watcher.until((read) => read.length === 1);
    watcher.stop();
    expect(only!.runId).to.equal(b[0]!.runId);
    expect(only!.event!.event.case).to.equal("completed");
    expect(only!.status).to.equal(RunStatus.COMPLETED);
  });

  it("serves gRPC-Web as well, and a token taken before a run replays the whole run", async () => {
    const watcher = watch(grpc, {});
    const { resumeToken } = await watcher.next();
    watcher.stop();
    const a = await run(grpc, first);
    const web = createClient(
      RebalancerService,
      createGrpcWebTransport({ baseUrl: app.url, httpVersion: "1.1" }),
    );
    const replay = watch(web, { resumeToken });
    await replay.next();
    const read = await replay.until(finalOf(a[0]!.runId));
    replay.stop();
    expect(toldOf(read)).to.deep.equal(a.map(told));
  });

  it("refuses unknown accounts and tokens it never gave", async () => {
    const refusal = async (request: MessageInitShape<typeof WatchRunsRequestSchema>) => {
      try {
        await watch(grpc, request).next();
      } catch (err) {
        return ConnectError.from(err);
      }
      throw new Error("the watch was not refused");
    };
    expect((await refusal({ accountIds: ["NOPE1"] })).code).to.equal(Code.NotFound);
    expect((await refusal({ accountIds: ["not an id"] })).code).to.equal(Code.InvalidArgument);
    expect((await refusal({ resumeToken: "bm90LWEtdG9rZW4" })).code).to.equal(Code.InvalidArgument);
    const ahead = Buffer.from("journal:999999", "utf8").toString("base64url");
    const error = await refusal({ resumeToken: ahead });
    expect(error.code).to.equal(Code.InvalidArgument);
    expect(error.rawMessage).to.match(/ahead of this rebalancer's run journal/);
  });

  it("ends its watches with UNAVAILABLE when the rebalancer stops, telling them to resume", async () => {
    const watcher = watch(grpc, {});
    await watcher.next();
    const ended = watcher.next().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    await app.close(1_000);
    const error = await ended;
    expect(error?.code).to.equal(Code.Unavailable);
    expect(error?.rawMessage).to.match(/resume_token/);
    app = await startRebalancer({
      accountsFile,
      dataDir: mkdtempSync(join(tmpdir(), "watch-runs-")),
    });
  });
});
