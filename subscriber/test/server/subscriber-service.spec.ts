import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { networkInterfaces } from "node:os";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@mesh/proto/health/v1/health";
import { EntryState, GapState, SubscriberService } from "@mesh/proto/subscriber/v1/subscriber";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { until } from "@mesh/platform/testing/until";
import Database from "better-sqlite3";
import { expect } from "chai";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import { openSqliteInbox } from "../../src/inbox/sqlite-inbox.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import { postEvent, scratchDir, testConfig, testLogger } from "../support/test-subscriber.js";

const require = createRequire(import.meta.url);
const bufLauncher = require.resolve("@bufbuild/buf/bin/buf");
const healthProto = require.resolve("grpc-health-check/proto/health/v1/health.proto");

/** Runs `buf curl` with the given arguments; resolves with stdout, rejects with stderr. */
function bufCurl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bufLauncher, "curl", ...args],
      { timeout: 15_000 },
      (error, out, err) =>
        error
          ? reject(new Error(`buf curl ${args.join(" ")}: ${err || error.message}`))
          : resolve(out),
    );
  });
}

/** A grpc-js client of grpc.health.v1, the client load balancers and Kubernetes probes use. */
function grpcHealthClient(url: string) {
  const definition = protoLoader.loadSync(healthProto, { keepCase: true, enums: String });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new loaded.grpc.health.v1.Health(
    new URL(url).host,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    check(
      request: { service: string },
      callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
    ): void;
    watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  };
}

const check = (client: ReturnType<typeof grpcHealthClient>, service = "") =>
  new Promise<string>((resolve, reject) =>
    client.check({ service }, (error, response) =>
      error ? reject(error) : resolve(response!.status),
    ),
  );

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call was not refused");
}

describe("SubscriberService on the subscriber's port", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let subscriber: Subscriber | undefined;

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    await subscriber?.close();
    subscriber = undefined;
    await rebalancer.stop();
    scratch.remove();
  });

  const start = async (overrides: Parameters<typeof testConfig>[2] = {}) => {
    subscriber = await startSubscriber(testConfig(scratch.dir, rebalancer.url, overrides), {
      logger: testLogger,
    });
    return subscriber;
  };
  const connectClient = (url: string): Client<typeof SubscriberService> =>
    createClient(SubscriberService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const grpcClient = (url: string): Client<typeof SubscriberService> =>
    createClient(SubscriberService, createGrpcTransport({ baseUrl: url }));

  /** Posts events that the rebalancer refuses (PERMISSION_DENIED): dead letters of DU001 and DU002. */
  const deadLetters = async (s: Subscriber, eventIds: string[]) => {
    rebalancer.behaviour = () => ({
      kind: "error",
      code: Code.PermissionDenied,
      message: "no trading permission",
    });
    for (const eventId of eventIds) await postEvent(s.url, "s1", { exec: "rebalance", eventId });
    await until(
      async () => (await s.inbox.counts()).dead === eventIds.length * 2,
      10_000,
      "dead letters",
    );
    rebalancer.behaviour = () => ({ kind: "complete" });
  };

  it("lists entries newest first, a page at a time, of one state when asked, over Connect and gRPC", async () => {
    const s = await start();
    for (const eventId of ["e1", "e2", "e3"])
      await postEvent(s.url, "s1", { exec: "rebalance", eventId });
    await until(async () => (await s.inbox.counts()).done === 6, 10_000, "six deliveries");
    await postEvent(s.url, "s1", "not json");

    for (const client of [connectClient(s.url), grpcClient(s.url)]) {
      const first = await client.listEntries({ pageSize: 4 });
      expect(first.entries.map((e) => e.state)).to.deep.equal([
        EntryState.REJECTED,
        EntryState.DONE,
        EntryState.DONE,
        EntryState.DONE,
      ]);
      expect(first.entries[1]).to.deep.include({
        eventKey: "e3",
        channel: "s1",
        command: "rebalance",
        source: "http",
      });
      expect(first.entries[1]!.runId).to.not.equal("");
      expect(first.entries[1]!.receivedAt).to.not.equal(undefined);
      const second = await client.listEntries({ pageSize: 4, pageToken: first.nextPageToken });
      expect(second.entries.map((e) => e.eventKey)).to.deep.equal(["e2", "e1", "e1"]);
      expect(second.nextPageToken).to.equal("");
      const ids = [...first.entries, ...second.entries].map((e) => e.id);
      expect(ids).to.deep.equal([...ids].sort((a, b) => Number(b - a)));
      const rejected = await client.listEntries({ state: EntryState.REJECTED });
      expect(rejected.entries.map((e) => e.reason)).to.have.length(1);
      expect(rejected.entries[0]!.reason).to.match(/JSON/i);
    }
  });

  it("lists dead letters with their reason, re-drives one to a new run that is delivered, and discards another", async () => {
    const s = await start();
    await deadLetters(s, ["d1"]);
    const client = grpcClient(s.url);
    const { deadLetters: dead } = await client.listDeadLetters({});
    expect(dead.map((e) => e.accountId).sort()).to.deep.equal(["DU001", "DU002"]);
    expect(dead[0]!.reason).to.include("no trading permission");
    expect(dead[0]!.state).to.equal(EntryState.DEAD);
    const runsBefore = rebalancer.runs.size;

    const [redriven, discarded] = dead;
    const answer = await client.redriveDeadLetter({ entryId: redriven!.id });
    expect(answer.entry).to.deep.include({ id: redriven!.id, generation: 1 });
    const delivered = await until(
      async () => {
        const entry = await s.inbox.get(Number(redriven!.id));
        return entry?.state === "done" ? entry : undefined;
      },
      10_000,
      "the re-driven entry delivered",
    );
    expect(rebalancer.runs.size, "a new run, under a new idempotency key").to.equal(runsBefore + 1);
    expect(delivered.runId).to.not.equal("");

    const gone = await client.discardDeadLetter({ entryId: discarded!.id });
    expect(gone.entry).to.deep.include({ state: EntryState.DISCARDED, reason: discarded!.reason });
    expect((await client.listDeadLetters({})).deadLetters).to.have.length(0);
    expect(
      (await client.listEntries({ state: EntryState.DISCARDED })).entries.map((e) => e.id),
    ).to.deep.equal([discarded!.id]);
  });

  it("refuses unknown entries with NOT_FOUND, entries that are not dead with FAILED_PRECONDITION, bad ids with INVALID_ARGUMENT", async () => {
    const s = await start();
    await postEvent(s.url, "s2", { exec: "rebalance", eventId: "ok" });
    const [done] = await until(
      async () => (await s.inbox.list({ state: "done" })).at(0) && s.inbox.list({ state: "done" }),
    );
    const client = connectClient(s.url);
    for (const call of [client.redriveDeadLetter, client.discardDeadLetter]) {
      expect((await refusal(call({ entryId: 999_999n }))).code).to.equal(Code.NotFound);
      const largest = 9_223_372_036_854_775_807n;
      expect((await refusal(call({ entryId: largest }))).code).to.equal(Code.NotFound);
      const notDead = await refusal(call({ entryId: BigInt(done!.id) }));
      expect(notDead.code).to.equal(Code.FailedPrecondition);
      expect(notDead.rawMessage).to.include("is done, not dead");
      expect((await refusal(call({ entryId: 0n }))).code).to.equal(Code.InvalidArgument);
    }
    expect((await refusal(client.listEntries({ pageToken: "abc" }))).code).to.equal(
      Code.InvalidArgument,
    );
    expect((await s.inbox.get(done!.id))?.state).to.equal("done");
  });

  it("needs one of its keys, while health and reflection need none", async () => {
    const s = await start({ apiKey: "rebalancer-key", apiKeys: ["operator-1", "operator-2"] });
    const client = connectClient(s.url);
    const missing = await refusal(client.listEntries({}));
    expect(missing.code).to.equal(Code.Unauthenticated);
    expect((await refusal(client.listEntries({}, bearer("rebalancer-key")))).code).to.equal(
      Code.Unauthenticated,
    );
    expect((await client.listEntries({}, bearer("operator-2"))).entries).to.deep.equal([]);
    expect((await refusal(client.redriveDeadLetter({ entryId: 1n }))).code).to.equal(
      Code.Unauthenticated,
    );
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    expect((await health.check({})).status).to.equal(HealthCheckResponse_ServingStatus.SERVING);
    const listed = await bufCurl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-methods",
      s.url,
    ]);
    expect(listed).to.include("subscriber.v1.SubscriberService/ListEntries");
  });

  it("takes the REBALANCER_API_KEY when no keys of its own are set, as /health's details do", async () => {
    const s = await start({ apiKey: "rebalancer-key" });
    const client = connectClient(s.url);
    expect((await refusal(client.listDeadLetters({}))).code).to.equal(Code.Unauthenticated);
    expect((await client.listDeadLetters({}, bearer("rebalancer-key"))).deadLetters).to.deep.equal(
      [],
    );
  });

  it("without any key, serves callers on its host and refuses the others", async function () {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    if (address === undefined) this.skip();
    const config = { ...testConfig(scratch.dir, rebalancer.url), host: "0.0.0.0" };
    subscriber = await startSubscriber(config, { logger: testLogger });
    const local = connectClient(`http://127.0.0.1:${subscriber.port}`);
    expect((await local.listEntries({})).entries).to.deep.equal([]);
    const remote = connectClient(`http://${address}:${subscriber.port}`);
    const refused = await refusal(remote.listEntries({}));
    expect(refused.code).to.equal(Code.PermissionDenied);
    expect(refused.rawMessage).to.include("SUBSCRIBER_API_KEYS");
  });

  it("answers grpc.health.v1 from its own health: NOT_SERVING while the inbox cannot write, to a grpc-js client", async () => {
    const config = testConfig(scratch.dir, rebalancer.url);
    const inbox = openSqliteInbox(config.inboxFile, { busyTimeoutMs: 50 });
    subscriber = await startSubscriber(config, { logger: testLogger, inbox });
    const client = grpcHealthClient(subscriber.url);
    try {
      expect(await check(client)).to.equal("SERVING");
      expect(await check(client, "subscriber.v1.SubscriberService")).to.equal("SERVING");
      const seen: string[] = [];
      const watch = client.watch({ service: "" });
      watch.on("data", (response: { status: string }) => seen.push(response.status));
      watch.on("error", () => undefined);
      await until(() => seen.length === 1, 5000, "the first watch answer");
      const lock = new Database(config.inboxFile);
      lock.exec("BEGIN IMMEDIATE");
      try {
        expect(await check(client)).to.equal("NOT_SERVING");
        await until(() => seen.includes("NOT_SERVING"), 5000, "the watch told NOT_SERVING");
      } finally {
        lock.exec("ROLLBACK");
        lock.close();
      }
      expect(await check(client)).to.equal("SERVING");
      await until(() => seen.length === 3, 5000, "the watch told SERVING again");
      expect(seen).to.deep.equal(["SERVING", "NOT_SERVING", "SERVING"]);
      watch.cancel();
      const unknown = await check(client, "nope").catch((error: grpc.ServiceError) => error.code);
      expect(unknown).to.equal(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("tells a health watcher NOT_SERVING when it stops, and ends the watch so the stop is not held up", async () => {
    const s = await start();
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    const seen: HealthCheckResponse_ServingStatus[] = [];
    const watching = (async () => {
      for await (const answer of health.watch({})) seen.push(answer.status);
    })();
    await until(() => seen.length === 1, 5000, "the first watch answer");
    await s.close();
    subscriber = undefined;
    await watching;
    expect(seen).to.deep.equal([
      HealthCheckResponse_ServingStatus.SERVING,
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    ]);
  });

  it("lists its methods through reflection (v1 and v1alpha) and is called by name with buf curl", async () => {
    const s = await start({ apiKeys: ["k"] });
    await deadLetters(s, ["d1"]);
    for (const reflect of ["grpc-v1", "grpc-v1alpha"]) {
      const out = await bufCurl([
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--reflect-protocol",
        reflect,
        "--list-methods",
        s.url,
      ]);
      expect(out.trim().split("\n")).to.include.members([
        ...SubscriberService.methods.map((m) => `subscriber.v1.SubscriberService/${m.name}`),
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
      ]);
    }
    const out = await bufCurl([
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-H",
      "Authorization: Bearer k",
      "-d",
      "{}",
      `${s.url}/subscriber.v1.SubscriberService/ListDeadLetters`,
    ]);
    const body = JSON.parse(out) as { deadLetters: { state: string; reason: string }[] };
    expect(body.deadLetters.map((d) => d.state)).to.deep.equal([
      "ENTRY_STATE_DEAD",
      "ENTRY_STATE_DEAD",
    ]);
    // Connect on HTTP/1.1, as a browser calls it.
    const viaConnect = await bufCurl([
      "-H",
      "Authorization: Bearer k",
      "-d",
      `{"state":"ENTRY_STATE_DEAD","page_size":1}`,
      `${s.url}/subscriber.v1.SubscriberService/ListEntries`,
    ]);
    expect((JSON.parse(viaConnect) as { entries: unknown[] }).entries).to.have.length(1);
  });

  it("lists the realtime gaps, newest first, of one state when asked", async () => {
    const s = await start();
    const first = await s.inbox.gaps.open({
      channel: "s1",
      from: 1000,
      to: 2000,
      cause: "start-up",
      openedAt: 3000,
    });
    await s.inbox.gaps.giveUp(first.id, { until: 2000, reason: "older than the window", at: 4000 });
    const second = await s.inbox.gaps.open({
      channel: "s2",
      from: 5000,
      to: 6000,
      cause: "not resumed",
      openedAt: 7000,
    });
    const client = grpcClient(s.url);
    const all = await client.listGaps({});
    expect(all.gaps.map((g) => [g.channel, g.state])).to.deep.equal([
      ["s2", GapState.OPEN],
      ["s1", GapState.UNRECOVERABLE],
    ]);
    expect(all.gaps[0]).to.deep.include({ id: BigInt(second.id), cause: "not resumed" });
    expect(timestampMs(all.gaps[0]!.from!)).to.equal(5000);
    const lost = await client.listGaps({ state: GapState.UNRECOVERABLE });
    expect(lost.gaps.map((g) => g.reason)).to.deep.equal(["older than the window"]);
    expect(lost.gaps[0]!.acknowledgedAt).to.equal(undefined);
  });

  /** The subscriber's GET /health, with its details (reasons). */
  const healthOf = async (s: Subscriber, key?: string) => {
    const res = await fetch(`${s.url}/health`, key ? bearer(key) : {});
    return (await res.json()) as { status: string; problems?: string[] };
  };

  /** A gap_unrecoverable record on `channel`, as the recovery makes one of a gap it gives up. */
  const lostGap = async (s: Subscriber, channel: string) => {
    const open = await s.inbox.gaps.open({
      channel,
      from: 1000,
      to: 2000,
      cause: "not resumed",
      openedAt: 3000,
    });
    const { record } = await s.inbox.gaps.giveUp(open.id, {
      until: 2000,
      reason: "history does not reach back to the gap's start",
      at: 4000,
    });
    return record;
  };

  it("acknowledges a gap_unrecoverable over Connect and gRPC, recording who, and health is ok again", async () => {
    const s = await start({ apiKeys: ["operator-1", "operator-2"] });
    const viaConnect = await lostGap(s, "s1");
    const viaGrpc = await lostGap(s, "s2");
    const degraded = await healthOf(s, "operator-1");
    expect(degraded.status).to.equal("degraded");
    expect(degraded.problems!.filter((p) => p.startsWith("gap_unrecoverable"))).to.have.length(2);

    const connect = connectClient(s.url);
    const before = Date.now();
    const { gap } = await connect.acknowledgeGap(
      { gapId: BigInt(viaConnect.id), source: "console" },
      bearer("operator-2"),
    );
    expect(gap).to.deep.include({
      id: BigInt(viaConnect.id),
      state: GapState.UNRECOVERABLE,
      acknowledgedBy: `console (key ${sha256("operator-2").slice(0, 8)})`,
    });
    expect(timestampMs(gap!.acknowledgedAt!)).to.be.within(before, Date.now());
    const stillLost = await healthOf(s, "operator-1");
    expect(stillLost.status).to.equal("degraded");
    expect(stillLost.problems!.join("\n")).to.include(`gap_unrecoverable ${viaGrpc.id} on s2`);
    expect(stillLost.problems!.join("\n")).to.not.include(`gap_unrecoverable ${viaConnect.id} `);

    const grpc = grpcClient(s.url);
    const acknowledged = await grpc.acknowledgeGap(
      { gapId: BigInt(viaGrpc.id) },
      bearer("operator-1"),
    );
    expect(acknowledged.gap!.acknowledgedBy).to.equal(
      `api (key ${sha256("operator-1").slice(0, 8)})`,
    );
    // And as the README shows it, with buf curl.
    const viaCurl = await lostGap(s, "s3");
    const curled = await bufCurl([
      "-H",
      "Authorization: Bearer operator-1",
      "-d",
      `{"gapId":"${viaCurl.id}","source":"alice"}`,
      `${s.url}/subscriber.v1.SubscriberService/AcknowledgeGap`,
    ]);
    expect((JSON.parse(curled) as { gap: object }).gap).to.include({
      id: String(viaCurl.id),
      state: "GAP_STATE_UNRECOVERABLE",
      acknowledgedBy: `alice (key ${sha256("operator-1").slice(0, 8)})`,
    });
    expect(await s.inbox.gaps.unacknowledged()).to.deep.equal([]);
    expect((await healthOf(s, "operator-1")).status).to.equal("ok");

    // Again, by another caller: the first acknowledgement stands, unchanged.
    const again = await connect.acknowledgeGap(
      { gapId: BigInt(viaConnect.id), source: "someone else" },
      bearer("operator-1"),
    );
    expect(again.gap).to.deep.equal(gap);
    expect((await refusal(connect.acknowledgeGap({ gapId: 1n }))).code).to.equal(
      Code.Unauthenticated,
    );
  });

  it("refuses to acknowledge unknown gaps with NOT_FOUND, gaps that lost nothing with FAILED_PRECONDITION, bad requests with INVALID_ARGUMENT", async () => {
    const s = await start();
    const open = await s.inbox.gaps.open({
      channel: "s1",
      from: 1000,
      to: 2000,
      cause: "not resumed",
      openedAt: 3000,
    });
    const covered = await s.inbox.gaps.open({
      channel: "s2",
      from: 1000,
      to: 2000,
      cause: "start-up",
      openedAt: 3000,
    });
    await s.inbox.gaps.cover(covered.id, { recovered: 3, at: 4000 });
    const client = connectClient(s.url);
    expect((await refusal(client.acknowledgeGap({ gapId: 999_999n }))).code).to.equal(
      Code.NotFound,
    );
    expect(
      (await refusal(client.acknowledgeGap({ gapId: 9_223_372_036_854_775_807n }))).code,
    ).to.equal(Code.NotFound);
    for (const [gap, state] of [
      [open, "open"],
      [covered, "covered"],
    ] as const) {
      const refused = await refusal(client.acknowledgeGap({ gapId: BigInt(gap.id) }));
      expect(refused.code).to.equal(Code.FailedPrecondition);
      expect(refused.rawMessage).to.include(`is ${state}, not unrecoverable`);
      expect((await s.inbox.gaps.get(gap.id))?.acknowledgedAt).to.equal(undefined);
    }
    expect((await refusal(client.acknowledgeGap({ gapId: 0n }))).code).to.equal(
      Code.InvalidArgument,
    );
    const lost = await lostGap(s, "s1");
    const unprintable = await refusal(
      client.acknowledgeGap({ gapId: BigInt(lost.id), source: "a\nb" }),
    );
    expect(unprintable.code).to.equal(Code.InvalidArgument);
    // Without keys, a caller on this host is who the subscriber verified.
    const { gap } = await client.acknowledgeGap({ gapId: BigInt(lost.id), source: "ops-alice" });
    expect(gap!.acknowledgedBy).to.equal("ops-alice (this host)");
  });

  it("lets the console's origin call it from a browser (CORS) and no other origin", async () => {
    const s = await start({ corsOrigins: ["http://127.0.0.1:8000"] });
    const preflight = (origin: string) =>
      fetch(`${s.url}/subscriber.v1.SubscriberService/ListEntries`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
    const allowed = await preflight("http://127.0.0.1:8000");
    expect(allowed.status).to.equal(204);
    expect(allowed.headers.get("access-control-allow-origin")).to.equal("http://127.0.0.1:8000");
    expect(allowed.headers.get("access-control-allow-headers")).to.include("authorization");
    expect((await preflight("http://evil.example")).status).to.equal(403);
    const call = await fetch(`${s.url}/subscriber.v1.SubscriberService/ListEntries`, {
      method: "POST",
      headers: { origin: "http://127.0.0.1:8000", "content-type": "application/json" },
      body: "{}",
    });
    expect(call.status).to.equal(200);
    expect(call.headers.get("access-control-allow-origin")).to.equal("http://127.0.0.1:8000");
  });
});
