import * as http from "node:http";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ExecutionMode,
  RebalanceRequestSchema,
  RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { paperAccount } from "./testing/fixed-rebalancer-service.js";
import { bearer, currentKey, startTestServer } from "./testing/test-server.js";
import type { TestServer } from "./testing/test-server.js";

/** One streaming envelope holding `payload` (a JSON text or message bytes), flags as given. */
function envelope(payload: string | Uint8Array, flags = 0): Buffer {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  const frame = Buffer.alloc(5 + bytes.length);
  frame[0] = flags;
  frame.writeUInt32BE(bytes.length, 1);
  bytes.copy(frame, 5);
  return frame;
}

/** A live Rebalance of the paper account, as binary protobuf, with `extra` bytes appended. */
function liveRebalance(extra: number[] = []): Buffer {
  const request = create(RebalanceRequestSchema, {
    accountId: paperAccount,
    mode: ExecutionMode.LIVE,
    idempotencyKey: `strict-${Math.random()}`,
  });
  return Buffer.concat([
    Buffer.from(toBinary(RebalanceRequestSchema, request)),
    Buffer.from(extra),
  ]);
}

describe("strict requests", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  async function connectJsonRebalance(
    json: string | Uint8Array,
  ): Promise<{ status: number; text: string }> {
    const before = t.fixed.rebalanceRequests.length;
    const response = await fetch(`${t.url}/rebalancer.v1.RebalancerService/Rebalance`, {
      method: "POST",
      headers: { ...bearer(currentKey), "content-type": "application/connect+json" },
      body: envelope(json),
    });
    const text = Buffer.from(await response.arrayBuffer()).toString("utf8");
    expect(t.fixed.rebalanceRequests.length, "no run may start").to.equal(before);
    return { status: response.status, text };
  }

  async function rest(path: string, body?: string | Uint8Array) {
    const before = t.fixed.rebalanceRequests.length;
    const response = await fetch(`${t.url}${path}`, {
      method: "POST",
      headers: bearer(currentKey),
      body,
    });
    const answer = (await response.json()) as Record<string, unknown>;
    return { status: response.status, answer, started: t.fixed.rebalanceRequests.length - before };
  }

  describe("Connect JSON", () => {
    it("refuses an unknown field, naming it, and starts no run", async () => {
      const { text } = await connectJsonRebalance(
        JSON.stringify({ accountId: paperAccount, mode: "EXECUTION_MODE_LIVE", foo: 1 }),
      );
      expect(text).to.contain("invalid_argument").and.contain("foo").and.contain("unknown");
    });

    for (const mode of ["LIVE", "2", "live"]) {
      it(`refuses the mode ${JSON.stringify(mode)} instead of defaulting to a dry run`, async () => {
        const { text } = await connectJsonRebalance(
          JSON.stringify({ accountId: paperAccount, mode }),
        );
        expect(text).to.contain("invalid_argument").and.contain("ExecutionMode");
      });
    }

    it("refuses a misspelt idempotency key field", async () => {
      const { text } = await connectJsonRebalance(
        JSON.stringify({ accountId: paperAccount, idempotency_Key: "evt-1" }),
      );
      expect(text).to.contain("invalid_argument").and.contain("idempotency_Key");
    });
  });

  describe("gRPC binary", () => {
    it("still takes a well-formed request", async () => {
      const client = createClient(
        RebalancerService,
        createGrpcTransport({ baseUrl: t.url, interceptors: [] }),
      );
      const events = [];
      for await (const event of client.rebalance(
        { accountId: paperAccount, mode: ExecutionMode.DRY_RUN },
        { headers: bearer(currentKey) },
      )) {
        events.push(event);
      }
      expect(events.at(-1)?.event.case).to.equal("completed");
    });
  });

  describe("the REST rebalance routes", () => {
    it("run a dry run when there is no body", async () => {
      const { status, answer } = await rest(`/rebalance/${paperAccount}`);
      expect(status).to.equal(200);
      expect(answer["execution_mode"]).to.equal("dry_run");
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.DRY_RUN);
    });

    it("run a dry run when the body sets no mode", async () => {
      await rest(`/rebalance/${paperAccount}`, JSON.stringify({ idempotency_key: "evt-nomode" }));
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.DRY_RUN);
    });

    it('take the seed\'s {"execution_mode":"dry_run"}', async () => {
      const { status, answer } = await rest(
        `/rebalance/${paperAccount}`,
        JSON.stringify({ execution_mode: "dry_run" }),
      );
      expect(status).to.equal(200);
      expect(answer["execution_mode"]).to.equal("dry_run");
    });

    it('take the seed\'s {"execution_mode":"rebalance"} as a live run', async () => {
      const { status, answer } = await rest(
        `/rebalance/${paperAccount}`,
        JSON.stringify({ execution_mode: "rebalance" }),
      );
      expect(status).to.equal(200);
      expect(answer["execution_mode"]).to.equal("live");
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.LIVE);
    });

    it('take the documented short mode "live" and the enum name', async () => {
      await rest(`/rebalance/${paperAccount}`, JSON.stringify({ mode: "live" }));
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.LIVE);
      await rest(`/rebalance/${paperAccount}`, JSON.stringify({ mode: "EXECUTION_MODE_DRY_RUN" }));
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.DRY_RUN);
    });

    it("keep /dry-run a dry run whatever the body says", async () => {
      await rest(
        `/rebalance/${paperAccount}/dry-run`,
        JSON.stringify({ execution_mode: "rebalance" }),
      );
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.DRY_RUN);
    });

    const refused: [string, string | Uint8Array, string][] = [
      ["an unknown seed mode", JSON.stringify({ execution_mode: "LIVE" }), "execution_mode"],
      ["a mode spelt LIVE", JSON.stringify({ mode: "LIVE" }), "ExecutionMode"],
      ["a mode given as the text 2", JSON.stringify({ mode: "2" }), "ExecutionMode"],
      ["an unknown field", JSON.stringify({ mode: "live", foo: 1 }), '"foo"'],
      ["a wrong type for the path's field", JSON.stringify({ accountId: 5 }), "account_id"],
      ["another account in the body", JSON.stringify({ account_id: "DU999" }), "account_id"],
      [
        "disagreeing modes",
        JSON.stringify({ execution_mode: "rebalance", mode: "dry_run" }),
        "disagree",
      ],
      [
        "invalid UTF-8",
        Buffer.concat([
          Buffer.from('{"mode":"live","idempotency_key":"'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"}'),
        ]),
        "UTF-8",
      ],
    ];
    for (const [what, body, named] of refused) {
      it(`refuse ${what} with 400 invalid_argument and start nothing`, async () => {
        const { status, answer, started } = await rest(`/rebalance/${paperAccount}`, body);
        expect(status).to.equal(400);
        expect(answer["code"]).to.equal("invalid_argument");
        expect(answer["message"]).to.contain(named);
        expect(started).to.equal(0);
      });
    }
  });

  it("answers a malformed %-escape in a REST path with 400, not a reset", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${t.url}/accounts/%E0%A4%A/positions`,
        { headers: bearer(currentKey) },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).to.equal(400);
  });

  it("refuses a 100 kB account id over gRPC with an answer that does not echo it", async () => {
    const client = createClient(RebalancerService, createGrpcTransport({ baseUrl: t.url }));
    const id = "D".repeat(100_000);
    const error = await client
      .getPositions({ accountId: id }, { headers: bearer(currentKey) })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(error?.code).to.be.oneOf([Code.InvalidArgument, Code.NotFound]);
    expect(error?.rawMessage.length).to.be.below(500);
  });

  /** Sends a body over raw HTTP/2 gRPC and returns the grpc-status and grpc-message. */
  async function grpcCall(
    path: string,
    body: Uint8Array,
    headers: Record<string, string> = {},
  ): Promise<{ status: string; message: string }> {
    const session = http2.connect(t.url);
    try {
      const seen = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
          ...bearer(currentKey),
          ...headers,
        });
        let answer: http2.IncomingHttpHeaders = {};
        stream.on("response", (h) => (answer = h));
        stream.on("trailers", (h) => (answer = { ...answer, ...h }));
        stream.on("error", reject);
        stream.on("close", () => resolve(answer));
        stream.resume();
        stream.end(body);
      });
      return {
        status: String(seen["grpc-status"]),
        message: decodeURIComponent(String(seen["grpc-message"] ?? "")),
      };
    } finally {
      session.close();
    }
  }
  const rebalancePath = "/rebalancer.v1.RebalancerService/Rebalance";

  describe("fields the contract does not define, in binary protobuf", () => {
    // Field 17, varint 1: what a client built on another version of the contract might send.
    const unknownField = [0x88, 0x01, 0x01];

    it("refuses a live Rebalance carrying one over gRPC, naming it, and starts no run", async () => {
      const before = t.fixed.rebalanceRequests.length;
      const { status, message } = await grpcCall(
        rebalancePath,
        envelope(liveRebalance(unknownField)),
      );
      expect(status).to.equal("3");
      expect(message).to.contain("unknown field number 17");
      expect(t.fixed.rebalanceRequests.length).to.equal(before);
    });

    it("refuses it over Connect binary and gRPC-Web too", async () => {
      const before = t.fixed.rebalanceRequests.length;
      for (const type of ["application/connect+proto", "application/grpc-web+proto"]) {
        const response = await fetch(`${t.url}${rebalancePath}`, {
          method: "POST",
          headers: { ...bearer(currentKey), "content-type": type, "x-grpc-web": "1" },
          body: envelope(liveRebalance(unknownField)),
        });
        const text = Buffer.from(await response.arrayBuffer()).toString("latin1");
        // gRPC-Web carries its status in a trailer frame of the body, Connect in an end frame.
        expect(decodeURIComponent(text), type).to.match(/grpc-status: ?3|invalid_argument/);
        expect(decodeURIComponent(text), type).to.contain("unknown field number 17");
      }
      expect(t.fixed.rebalanceRequests.length).to.equal(before);
    });
  });

  it("refuses invalid UTF-8 inside a Connect JSON string instead of reading it as U+FFFD", async () => {
    const json = Buffer.concat([
      Buffer.from(
        `{"accountId":"${paperAccount}","mode":"EXECUTION_MODE_LIVE","idempotencyKey":"k`,
      ),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ]);
    const { text } = await connectJsonRebalance(json);
    expect(text).to.contain("invalid_argument").and.contain("UTF-8");
  });

  describe("compressed messages", () => {
    it("refuses a compressed envelope that names no encoding with invalid_argument", async () => {
      const { status, message } = await grpcCall(rebalancePath, envelope(liveRebalance(), 0x01));
      expect(status).to.equal("3");
      expect(message).to.contain("compression");
    });

    it("refuses gzip that does not inflate, and an encoding it does not accept", async () => {
      const garbage = envelope(Buffer.from("not gzip at all"), 0x01);
      const gzip = await grpcCall(rebalancePath, garbage, { "grpc-encoding": "gzip" });
      expect(gzip.status).to.equal("3");
      expect(gzip.message).to.contain("does not inflate");
      const snappy = await grpcCall(rebalancePath, garbage, { "grpc-encoding": "snappy" });
      expect(snappy.status).to.equal("3");
      expect(snappy.message).to.contain("snappy");
    });

    it("still serves a well-formed gzip request", async () => {
      const request = create(RebalanceRequestSchema, { accountId: paperAccount });
      const body = envelope(gzipSync(toBinary(RebalanceRequestSchema, request)), 0x01);
      const { status } = await grpcCall(rebalancePath, body, { "grpc-encoding": "gzip" });
      expect(status).to.equal("0");
    });

    it("answers a Connect GET whose compressed message does not inflate with 400", async () => {
      const response = await fetch(
        `${t.url}/rebalancer.v1.RebalancerService/GetTargets?connect=v1&encoding=json&message=%7B&compression=gzip`,
        { headers: bearer(currentKey) },
      );
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { code: string }).code).to.equal("invalid_argument");
    });

    it("answers a Connect unary body that does not inflate with 400", async () => {
      const response = await fetch(`${t.url}/rebalancer.v1.RebalancerService/GetPositions`, {
        method: "POST",
        headers: {
          ...bearer(currentKey),
          "content-type": "application/json",
          "content-encoding": "gzip",
        },
        body: "not gzip",
      });
      expect(response.status).to.equal(400);
    });
  });

  describe("garbage protobuf", () => {
    // Field 1 (account_id) declared as a 200-byte string with 3 bytes present.
    const garbage = Buffer.from([0x0a, 0xc8, 0x01, 0x41, 0x42, 0x43]);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, garbage.length]), garbage]);

    it("is invalid_argument over gRPC (raw HTTP/2), not internal", async () => {
      const session = http2.connect(t.url);
      try {
        const headers = await new Promise<
          http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader
        >((resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": "/rebalancer.v1.RebalancerService/Rebalance",
            "content-type": "application/grpc",
            te: "trailers",
            ...bearer(currentKey),
          });
          let seen: http2.IncomingHttpHeaders = {};
          stream.on("response", (h) => (seen = h));
          stream.on("trailers", (h) => (seen = { ...seen, ...h }));
          stream.on("error", reject);
          stream.on("close", () => resolve(seen as never));
          stream.resume();
          stream.end(framed);
        });
        expect(headers["grpc-status"]).to.equal("3");
      } finally {
        session.close();
      }
    });

    it("is 400 invalid_argument over Connect application/proto", async () => {
      const response = await fetch(`${t.url}/rebalancer.v1.RebalancerService/GetPositions`, {
        method: "POST",
        headers: { ...bearer(currentKey), "content-type": "application/proto" },
        body: garbage,
      });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { code: string }).code).to.equal("invalid_argument");
    });

    it("ends a Connect binary stream with invalid_argument", async () => {
      const response = await fetch(`${t.url}/rebalancer.v1.RebalancerService/Rebalance`, {
        method: "POST",
        headers: { ...bearer(currentKey), "content-type": "application/connect+proto" },
        body: framed,
      });
      const text = Buffer.from(await response.arrayBuffer()).toString("latin1");
      expect(text).to.contain("invalid_argument");
      expect(t.fixed.rebalanceRequests.every((r) => r.accountId !== "ABC")).to.equal(true);
    });

    it("is 400 over a Connect GET whose base64 message is not valid", async () => {
      const response = await fetch(
        `${t.url}/rebalancer.v1.RebalancerService/GetPositions?connect=v1&encoding=proto&base64=1&message=%25%25%25`,
        { headers: bearer(currentKey) },
      );
      expect(response.status).to.be.within(400, 499);
    });
  });
});
