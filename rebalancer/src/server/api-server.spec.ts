import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { stays, until } from "@mesh/platform/testing/until";
import {
  ExecutionMode,
  GetPositionsRequestSchema,
  GetPositionsResponseSchema,
  ListAccountsRequestSchema,
  ListAccountsResponseSchema,
  RebalanceRequestSchema,
  RebalanceResponseSchema,
  RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { busyAccount, paperAccount } from "./testing/fixed-rebalancer-service.js";
import { bearer, currentKey, previousKey, startTestServer } from "./testing/test-server.js";
import type { TestServer } from "./testing/test-server.js";

/** What the server saw of each RPC, to prove a transport really used its protocol and verb. */
interface SeenCall {
  procedure: string;
  requestMethod: string;
  contentType: string | null;
}

interface TransportCase {
  name: string;
  make(baseUrl: string): Transport;
  /** Content type the server must see on a unary call; null for GET (no body). */
  contentType: RegExp | null;
  requestMethod: "POST" | "GET";
}

const transportCases: TransportCase[] = [
  {
    name: "gRPC over h2c",
    make: (baseUrl) => createGrpcTransport({ baseUrl }),
    contentType: /^application\/grpc(\+proto)?$/,
    requestMethod: "POST",
  },
  {
    name: "gRPC-Web over HTTP/1.1",
    make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    contentType: /^application\/grpc-web\+proto$/,
    requestMethod: "POST",
  },
  {
    name: "gRPC-Web over HTTP/2",
    make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
    contentType: /^application\/grpc-web\+proto$/,
    requestMethod: "POST",
  },
  {
    name: "Connect JSON over HTTP/1.1",
    make: (baseUrl) =>
      createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    contentType: /^application\/json$/,
    requestMethod: "POST",
  },
  {
    name: "Connect binary over HTTP/1.1",
    make: (baseUrl) =>
      createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    contentType: /^application\/proto$/,
    requestMethod: "POST",
  },
  {
    name: "Connect JSON over HTTP/2",
    make: (baseUrl) =>
      createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false }),
    contentType: /^application\/json$/,
    requestMethod: "POST",
  },
  {
    name: "Connect binary over HTTP/2",
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    contentType: /^application\/proto$/,
    requestMethod: "POST",
  },
  {
    name: "Connect GET (JSON) over HTTP/1.1",
    make: (baseUrl) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useHttpGet: true,
        useBinaryFormat: false,
      }),
    contentType: null,
    requestMethod: "GET",
  },
  {
    name: "Connect GET (binary) over HTTP/2",
    make: (baseUrl) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "2",
        useHttpGet: true,
        useBinaryFormat: true,
      }),
    contentType: null,
    requestMethod: "GET",
  },
];

/** Every event of a Rebalance call. */
async function collect(
  stream: AsyncIterable<RebalanceResponse>,
  events: RebalanceResponse[] = [],
): Promise<RebalanceResponse[]> {
  for await (const event of stream) {
    events.push(event);
  }
  return events;
}

/** The ConnectError a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("createApiServer", () => {
  let t: TestServer;
  const seen: SeenCall[] = [];
  const recorder: Interceptor = (next) => async (req) => {
    seen.push({
      procedure: req.method.name,
      requestMethod: req.requestMethod,
      contentType: req.header.get("content-type"),
    });
    return next(req);
  };

  before(async () => {
    t = await startTestServer({ interceptors: [recorder] });
  });
  after(() => t.close());

  for (const transportCase of transportCases) {
    describe(`over ${transportCase.name}`, () => {
      const client = () => createClient(RebalancerService, transportCase.make(t.url));

      it("answers ListAccounts with an accepted key, through the extra interceptors", async () => {
        seen.length = 0;
        const response = await client().listAccounts({}, { headers: bearer(currentKey) });
        expect(response.accounts.map((a) => a.accountId)).to.include(paperAccount);
        expect(response.tradingMode).to.equal("paper");
        const call = seen.find((c) => c.procedure === "ListAccounts");
        expect(call?.requestMethod).to.equal(transportCase.requestMethod);
        if (transportCase.contentType === null) {
          expect(call?.contentType).to.equal(null);
        } else {
          expect(call?.contentType).to.match(transportCase.contentType);
        }
      });

      it("streams a dry-run Rebalance from accepted to completed", async () => {
        const events = await collect(
          client().rebalance(
            { accountId: paperAccount, mode: ExecutionMode.DRY_RUN, idempotencyKey: "k1" },
            { headers: bearer(currentKey) },
          ),
        );
        expect(events.map((e) => e.event.case)).to.deep.equal([
          "accepted",
          "phase",
          "plan",
          "completed",
        ]);
        expect(events.map((e) => e.sequence)).to.deep.equal([1, 2, 3, 4]);
      });

      it("reports the service's errors with their codes (not_found, aborted)", async () => {
        const notFound = await rejection(
          client().getPositions({ accountId: "DU999" }, { headers: bearer(currentKey) }),
        );
        expect(notFound.code).to.equal(Code.NotFound);
        expect(notFound.rawMessage).to.equal("account DU999 is not configured");
        const busy = await rejection(
          collect(client().rebalance({ accountId: busyAccount }, { headers: bearer(currentKey) })),
        );
        expect(busy.code).to.equal(Code.Aborted);
      });

      it("refuses a call without a key as unauthenticated", async () => {
        const error = await rejection(client().listAccounts({}));
        expect(error.code).to.equal(Code.Unauthenticated);
        expect(error.rawMessage).to.contain("Authorization: Bearer");
      });

      it("refuses a wrong key as unauthenticated, without echoing it", async () => {
        const error = await rejection(
          collect(client().rebalance({ accountId: paperAccount }, { headers: bearer("guess") })),
        );
        expect(error.code).to.equal(Code.Unauthenticated);
        expect(error.message).not.to.contain("guess");
      });

      it("accepts the previous key while keys rotate", async () => {
        const response = await client().getPositions(
          { accountId: paperAccount },
          { headers: bearer(previousKey) },
        );
        expect(response.positions[0]?.symbol).to.equal("QQQ");
      });
    });
  }

  describe("over plain fetch with Connect JSON on HTTP/1.1", () => {
    const listAccounts = (body: string, headers: Record<string, string> = bearer(currentKey)) =>
      fetch(`${t.url}/rebalancer.v1.RebalancerService/ListAccounts`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });

    it("answers ListAccounts in proto3 JSON", async () => {
      const response = await listAccounts("{}");
      expect(response.status).to.equal(200);
      const body = (await response.json()) as { accounts: { accountId: string }[] };
      expect(body.accounts[0]?.accountId).to.equal(paperAccount);
    });

    it("answers 401 unauthenticated without a key", async () => {
      const response = await listAccounts("{}", {});
      expect(response.status).to.equal(401);
      expect(await response.json()).to.include({ code: "unauthenticated" });
    });

    it("answers invalid_argument for malformed JSON", async () => {
      const response = await listAccounts("{not json");
      expect(response.status).to.equal(400);
      const body = (await response.json()) as { code: string; message: string };
      expect(body.code).to.equal("invalid_argument");
      expect(body.message).to.match(/cannot decode message rebalancer\.v1\.ListAccountsRequest/);
    });

    it("answers invalid_argument for a body over the limit, naming the limit", async () => {
      const body = JSON.stringify({ pad: "x".repeat(1_100_000) });
      const response = await listAccounts(body);
      expect(response.status).to.equal(400);
      expect(await response.json()).to.deep.equal({
        code: "invalid_argument",
        message: `request body of ${Buffer.byteLength(body)} bytes exceeds the limit of 1048576 bytes`,
      });
    });
  });

  it("bounds what a compressed body may inflate to (resource_exhausted)", async () => {
    const inflated = JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) });
    const response = await fetch(`${t.url}/rebalancer.v1.RebalancerService/ListAccounts`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-encoding": "gzip",
        ...bearer(currentKey),
      },
      body: gzipSync(inflated),
    });
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).to.equal("resource_exhausted");
    expect(body.message).to.contain("after decompression");
  });

  describe("oversize bodies on the streaming protocols", () => {
    const huge = "k".repeat(1_100_000);
    for (const transportCase of transportCases.filter((c) => c.requestMethod === "POST")) {
      it(`are invalid_argument over ${transportCase.name}`, async () => {
        const client = createClient(RebalancerService, transportCase.make(t.url));
        const error = await rejection(
          collect(
            client.rebalance(
              { accountId: paperAccount, idempotencyKey: huge },
              { headers: bearer(currentKey) },
            ),
          ),
        );
        expect(error.code).to.equal(Code.InvalidArgument);
        expect(error.rawMessage).to.match(/exceeds the limit of 1048576 bytes/);
      });
    }
  });

  describe("over @grpc/grpc-js", () => {
    let client: grpc.Client;
    before(() => {
      client = new grpc.Client(`127.0.0.1:${t.port}`, grpc.credentials.createInsecure());
    });
    after(() => client.close());

    const metadata = (key?: string) => {
      const m = new grpc.Metadata();
      if (key !== undefined) {
        m.set("authorization", `Bearer ${key}`);
      }
      return m;
    };

    function listAccounts(key?: string) {
      return new Promise<{ error: grpc.ServiceError | null; count: number }>((resolve) => {
        client.makeUnaryRequest(
          "/rebalancer.v1.RebalancerService/ListAccounts",
          (m: object) => Buffer.from(toBinary(ListAccountsRequestSchema, m as never)),
          (b: Buffer) => fromBinary(ListAccountsResponseSchema, b),
          create(ListAccountsRequestSchema),
          metadata(key),
          (error, response) => resolve({ error, count: response?.accounts.length ?? 0 }),
        );
      });
    }

    it("answers a unary call", async () => {
      const { error, count } = await listAccounts(currentKey);
      expect(error).to.equal(null);
      expect(count).to.equal(4);
    });

    it("reports UNAUTHENTICATED without a key", async () => {
      const { error } = await listAccounts();
      expect(error?.code).to.equal(grpc.status.UNAUTHENTICATED);
    });

    it("reports NOT_FOUND for an unknown account", async () => {
      const error = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.makeUnaryRequest(
          "/rebalancer.v1.RebalancerService/GetPositions",
          (m: object) => Buffer.from(toBinary(GetPositionsRequestSchema, m as never)),
          (b: Buffer) => fromBinary(GetPositionsResponseSchema, b),
          create(GetPositionsRequestSchema, { accountId: "DU999" }),
          metadata(currentKey),
          (e) => resolve(e),
        );
      });
      expect(error?.code).to.equal(grpc.status.NOT_FOUND);
      expect(error?.details).to.equal("account DU999 is not configured");
    });

    function rebalance(accountId: string) {
      return new Promise<{ events: RebalanceResponse[]; status: grpc.StatusObject }>((resolve) => {
        const events: RebalanceResponse[] = [];
        const call = client.makeServerStreamRequest(
          "/rebalancer.v1.RebalancerService/Rebalance",
          (m: object) => Buffer.from(toBinary(RebalanceRequestSchema, m as never)),
          (b: Buffer) => fromBinary(RebalanceResponseSchema, b),
          create(RebalanceRequestSchema, { accountId, mode: ExecutionMode.LIVE }),
          metadata(currentKey),
        );
        call.on("data", (event: RebalanceResponse) => events.push(event));
        call.on("error", () => undefined); // The status below carries the outcome.
        call.on("status", (status: grpc.StatusObject) => resolve({ events, status }));
      });
    }

    it("streams a live Rebalance to its completed event", async () => {
      const { events, status } = await rebalance(paperAccount);
      expect(status.code).to.equal(grpc.status.OK);
      const last = events[events.length - 1];
      expect(last?.event.case).to.equal("completed");
    });

    it("reports ABORTED on a stream for a busy account", async () => {
      const { events, status } = await rebalance(busyAccount);
      expect(events).to.have.length(0);
      expect(status.code).to.equal(grpc.status.ABORTED);
      expect(status.details).to.contain("busy with run run-7");
    });
  });

  it("never writes an API key or a presented token to the logs", async () => {
    const client = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }),
    );
    await rejection(client.listAccounts({}, { headers: bearer("presented-token-123") }));
    await client.listAccounts({}, { headers: bearer(currentKey) });
    const logs = t.logs.join("");
    expect(logs).not.to.contain(currentKey);
    expect(logs).not.to.contain(previousKey);
    expect(logs).not.to.contain("presented-token-123");
  });
});

describe("createApiServer authentication settings", () => {
  it("lets no-side-effect methods through without a key when reads are open", async () => {
    const t = await startTestServer({ openReads: true });
    try {
      const client = createClient(
        RebalancerService,
        createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }),
      );
      const response = await client.listAccounts({});
      expect(response.accounts).to.have.length(4);
      const error = await rejection(collect(client.rebalance({ accountId: paperAccount })));
      expect(error.code).to.equal(Code.Unauthenticated);
    } finally {
      await t.close();
    }
  });

  it("serves every method without a key when no keys are configured", async () => {
    const t = await startTestServer({ apiKeys: [] });
    try {
      const client = createClient(RebalancerService, createGrpcTransport({ baseUrl: t.url }));
      const events = await collect(client.rebalance({ accountId: paperAccount }));
      expect(events[events.length - 1]?.event.case).to.equal("completed");
    } finally {
      await t.close();
    }
  });
});

describe("ApiServer.close", () => {
  it("lets a running rebalance stream finish before it resolves, refusing new connections", async () => {
    const t = await startTestServer();
    let release = (): void => undefined;
    t.fixed.hold = new Promise<void>((resolve) => (release = resolve));
    const client = createClient(RebalancerService, createGrpcTransport({ baseUrl: t.url }));
    const call = client.rebalance({ accountId: paperAccount }, { headers: bearer(currentKey) });
    const stream = call[Symbol.asyncIterator]();
    const first: string[] = [];
    for (let i = 0; i < 3; i++) {
      first.push(String((await stream.next()).value?.event.case));
    }
    expect(first).to.deep.equal(["accepted", "phase", "plan"]);

    let closed = false;
    const closing = t.server.close(10_000).then(() => (closed = true));
    // The run is held: close must keep waiting; nothing signals that it did not resolve.
    await stays(() => !closed, 200, "close waiting for the streaming run");
    expect(closed, "close resolved while the run was still streaming").to.equal(false);
    const refused = await fetch(`${t.url}/health`).then(
      () => false,
      () => true,
    );
    expect(refused, "a new connection was accepted while closing").to.equal(true);

    release();
    const rest: string[] = [];
    for (let next = await stream.next(); next.done !== true; next = await stream.next()) {
      rest.push(String(next.value.event.case));
    }
    expect(rest).to.deep.equal(["completed"]);
    await closing;
    expect(closed).to.equal(true);
  });

  it("cuts a stream that outlives the grace period", async () => {
    const t = await startTestServer();
    t.fixed.hold = new Promise<void>(() => undefined);
    const client = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }),
    );
    const seen: RebalanceResponse[] = [];
    const events = collect(
      client.rebalance({ accountId: paperAccount }, { headers: bearer(currentKey) }),
      seen,
    );
    // The run holds after its plan: from then on the stream is open and waiting.
    await until(() => seen.some((e) => e.event.case === "plan"), 5000, "the plan streamed");
    const started = Date.now();
    await t.server.close(300);
    expect(Date.now() - started).to.be.within(250, 2000);
    // The cut shows as a failed call (how it is coded depends on the transport).
    expect(await rejection(events)).to.be.instanceOf(ConnectError);
  });
});
