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
  RebalanceResponseSchema,
  RebalancerService,
  RunStatus,
  type RebalanceResponse,
  type WatchRunsResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { toJson, type MessageInitShape } from "@bufbuild/protobuf";
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
  mode = ExecutionMode.DRY_RUN,
): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  for await (const event of client.rebalance({ accountId, idempotencyKey, mode })) {
    events.push(event);
  }
  return events;
}

/** An event as the wire carries it, to compare in full. */
const wire = (e: RebalanceResponse) => toJson(RebalanceResponseSchema, e);

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

/** One Server-Sent Event as GET /runs:watch sends it. */
interface SentEvent {
  event: string;
  id: string;
  data: {
    run_id?: string;
    status?: string;
    resume_token: string;
    event?: Record<string, unknown> & { run_id: string; sequence: number };
  };
}

/** The events of a text/event-stream body, as they arrive. */
async function* sentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SentEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const fields = new Map(
        buffer
          .slice(0, end)
          .split("\n")
          .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
      );
      buffer = buffer.slice(end + 2);
      yield {
        event: fields.get("event") ?? "",
        id: fields.get("id") ?? "",
        data: JSON.parse(fields.get("data") ?? "null") as SentEvent["data"],
      };
    }
  }
}

/** Reads Server-Sent Events until `done` says those read are enough. */
async function readUntil(
  events: AsyncGenerator<SentEvent>,
  done: (read: SentEvent[]) => boolean,
): Promise<SentEvent[]> {
  const read: SentEvent[] = [];
  while (!done(read)) {
    const next = await events.next();
    if (next.done) throw new Error("the event stream ended");
    read.push(next.value);
  }
  return read;
}

const sentOf = (read: SentEvent[]) =>
  read.map((e) => `${e.data.event!.run_id} ${e.data.event!.sequence}`);
const numbered = (events: RebalanceResponse[]) => events.map((e) => `${e.runId} ${e.sequence}`);

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
      // The very events the run's stream told: plan, orders, fills, times and all.
      expect(ofRun.map((r) => wire(r.event!))).to.deep.equal(events.map(wire));
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

  it("holds no run up for a watcher that stops reading, which then gets every event once it reads again", async () => {
    const watcher = watch(grpc, {});
    await watcher.next();
    // Live runs, with their orders and fills, while the watcher reads nothing.
    const runs: RebalanceResponse[][] = [];
    for (let i = 0; i < 6; i++) {
      const [a, b] = await Promise.all([
        run(grpc, first, `slow-${i}`, ExecutionMode.LIVE),
        run(grpc, second, `slow-${i}`, ExecutionMode.LIVE),
      ]);
      runs.push(a, b);
    }
    expect(runs.every((events) => events.at(-1)!.event.case === "completed")).to.equal(true);
    const read = await watcher.until(finalOf(...runs.map((events) => events[0]!.runId)));
    watcher.stop();
    for (const events of runs) {
      const ofRun = read.filter((r) => r.runId === events[0]!.runId);
      expect(ofRun.map((r) => wire(r.event!))).to.deep.equal(events.map(wire));
    }
    expect(read.length).to.equal(runs.flat().length);
  });

  it("tells where it stands when quiet, past the events its filters left out", async () => {
    await app.close(1_000);
    app = await startRebalancer({
      accountsFile,
      dataDir: mkdtempSync(join(tmpdir(), "watch-runs-")),
      broker: createSimBroker({ fillDelayMs: 5 }),
      watchHeartbeatMs: 20,
    });
    grpc = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    const watcher = watch(grpc, { accountIds: [second] });
    const start = await watcher.next();
    await run(grpc, first);
    // The run on the other account moved the watch on: a quiet response says it.
    const read = await watcher.until((r) => r.some((q) => q.resumeToken !== start.resumeToken));
    watcher.stop();
    const quiet = read.at(-1)!;
    expect(read.every((r) => r.event === undefined && r.runId === "")).to.equal(true);

    const b = await run(grpc, second);
    const resumed = watch(grpc, { accountIds: [second], resumeToken: quiet.resumeToken });
    await resumed.next();
    const again = await resumed.until(finalOf(b[0]!.runId));
    resumed.stop();
    expect(toldOf(again.filter((r) => r.event))).to.deep.equal(b.map(told));
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

  it("serves GET /runs:watch as Server-Sent Events that resume from Last-Event-ID", async () => {
    const abort = new AbortController();
    const res = await fetch(`${app.url}/runs:watch?account_ids=${first}`, { signal: abort.signal });
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
    const events = sentEvents(res.body!);
    const [start] = await readUntil(events, (read) => read.length === 1);
    expect(start!.event).to.equal("position");
    expect(start!.id).to.equal(start!.data.resume_token);
    const a = await run(grpc, first);
    await run(grpc, second);
    const read = await readUntil(events, (r) => r.some((e) => e.data.status === "completed"));
    abort.abort();
    expect(sentOf(read)).to.deep.equal(numbered(a));
    expect(read.every((e) => e.event === "run" && e.id === e.data.resume_token)).to.equal(true);
    expect(read[0]!.data).to.include({ run_id: a[0]!.runId, status: "running" });
    expect(read[0]!.data.event!).to.have.property("accepted");

    const b = await run(grpc, first);
    const again = await fetch(`${app.url}/runs:watch?account_ids=${first}`, {
      headers: { "last-event-id": read[1]!.id },
    });
    const resumed = sentEvents(again.body!);
    const missed = await readUntil(
      resumed,
      (r) => r.filter((e) => e.data.event?.completed).length === 2,
    );
    await resumed.return(undefined);
    expect(sentOf(missed.slice(1))).to.deep.equal([...numbered(a).slice(2), ...numbered(b)]);
  });

  it("answers a refused watch on REST with a JSON error and its status", async () => {
    const res = await fetch(`${app.url}/runs:watch?account_ids=NOPE1`);
    expect(res.status).to.equal(404);
    expect(await res.json()).to.include({ code: "not_found" });
    const bad = await fetch(`${app.url}/runs:watch?statuses=sideways`);
    expect(bad.status).to.equal(400);
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

  it("asks for an API key as ListRuns does: unless reads are open", async () => {
    await app.close(1_000);
    const dataDir = mkdtempSync(join(tmpdir(), "watch-runs-"));
    for (const openReads of [false, true]) {
      app = await startRebalancer({ accountsFile, dataDir, apiKeys: ["watch-key"], openReads });
      const client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
      const anonymous = watch(client, {});
      const answer = await anonymous.next().then(
        () => "served",
        (err: unknown) => Code[ConnectError.from(err).code],
      );
      anonymous.stop();
      expect(answer, `openReads ${openReads}`).to.equal(openReads ? "served" : "Unauthenticated");
      const keyed = client.watchRuns({}, { headers: { authorization: "Bearer watch-key" } });
      for await (const response of keyed) {
        expect(response.resumeToken).to.not.equal("");
        break;
      }
      if (!openReads) await app.close(1_000);
    }
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
