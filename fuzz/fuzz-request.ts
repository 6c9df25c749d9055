// One generated request and what became of it. Requests are sent raw (node:http, node:http2) so
// that malformed bytes, headers and paths reach the services as generated.
import { request as httpRequest } from "node:http";
import { connect, constants, type ClientHttp2Session } from "node:http2";

/** A request to one of the services, exactly as it goes on the wire. */
export interface FuzzRequest {
  /** Which service it is for. */
  service: "rebalancer" | "subscriber";
  /** The protocol family, for the report: grpc, grpc-web, connect-json, connect-proto, ... */
  protocol: string;
  /** HTTP/2 with prior knowledge (gRPC) or HTTP/1.1. */
  http2: boolean;
  method: string;
  /** Path and query, sent as is (may hold malformed %-encoding). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** What was done to it, for a reproducible report line. */
  mutation: string;
}

/** How a request ended. */
export type FuzzOutcome =
  | {
      kind: "answered";
      status: number;
      /** gRPC status (trailers or gRPC-Web trailer frame) or Connect error code, when any. */
      code?: string;
      /** grpc-message, when the answer had one in its headers or trailers. */
      message?: string;
      body: Buffer;
    }
  /** The connection or stream was reset, or closed, before any answer. */
  | { kind: "reset"; error: string }
  /** No answer within the deadline. */
  | { kind: "hang" };

/** Opens (and reopens, after the server closed one) the HTTP/2 connection to a service. */
export class Http2Connections {
  private sessions = new Map<string, ClientHttp2Session>();

  session(url: string): ClientHttp2Session {
    const open = this.sessions.get(url);
    if (open && !open.closed && !open.destroyed) return open;
    const session = connect(url);
    // Session errors show up on the streams; this only keeps them from being uncaught.
    session.on("error", () => undefined);
    this.sessions.set(url, session);
    return session;
  }

  close() {
    for (const session of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }
}

/** Sends `req` to `baseUrl`, waiting at most `deadlineMs` for the whole answer. */
export function sendFuzzRequest(
  baseUrl: string,
  req: FuzzRequest,
  http2: Http2Connections,
  deadlineMs: number,
): Promise<FuzzOutcome> {
  return req.http2
    ? sendHttp2(baseUrl, req, http2, deadlineMs)
    : sendHttp1(baseUrl, req, deadlineMs);
}

function sendHttp1(baseUrl: string, req: FuzzRequest, deadlineMs: number): Promise<FuzzOutcome> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: FuzzOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
      r.destroy();
    };
    const timer = setTimeout(() => finish({ kind: "hang" }), deadlineMs);
    const r = httpRequest({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: req.path,
      headers: { ...req.headers, ...(req.body ? { "content-length": req.body.length } : {}) },
      agent: false,
    });
    r.on("error", (err) => finish({ kind: "reset", error: err.message }));
    r.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      // The answer's status counts even if the server then closes while we still send.
      res.on("error", () => finish(answered(res.statusCode ?? 0, res.headers, chunks)));
      res.on("end", () => finish(answered(res.statusCode ?? 0, res.headers, chunks)));
    });
    r.end(req.body);
  });
}

function sendHttp2(
  baseUrl: string,
  req: FuzzRequest,
  connections: Http2Connections,
  deadlineMs: number,
): Promise<FuzzOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    const finish = (outcome: FuzzOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    };
    const timer = setTimeout(() => finish({ kind: "hang" }), deadlineMs);
    const stream = connections.session(baseUrl).request({
      ...req.headers,
      ":method": req.method,
      ":path": req.path,
    });
    stream.on("response", (h) => {
      status = Number(h[":status"] ?? 0);
      headers = { ...h };
    });
    stream.on("trailers", (t) => Object.assign(headers, t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => finish(answered(status, headers, chunks)));
    stream.on("error", (err) => {
      // An answer with a status (trailers-only included) counts; a reset before it does not.
      if (status !== 0 && headers["grpc-status"] !== undefined) {
        finish(answered(status, headers, chunks));
      } else finish({ kind: "reset", error: err.message });
    });
    stream.on("close", () => {
      if (status !== 0) finish(answered(status, headers, chunks));
      else finish({ kind: "reset", error: `stream closed (code ${stream.rstCode})` });
    });
    stream.end(req.body);
  });
}

function answered(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  chunks: Buffer[],
): FuzzOutcome {
  const body = Buffer.concat(chunks);
  const grpc = headers["grpc-status"];
  const code = typeof grpc === "string" ? grpc : (webTrailerStatus(body) ?? connectEndCode(body));
  const message = headers["grpc-message"];
  return {
    kind: "answered",
    status,
    ...(code !== undefined ? { code } : {}),
    ...(typeof message === "string" ? { message: decodeURIComponentSafe(message) } : {}),
    body,
  };
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** grpc-status of a gRPC-Web trailer frame (flag 0x80) in the body, if any. */
function webTrailerStatus(body: Buffer): string | undefined {
  for (const frame of frames(body)) {
    if (frame.flags & 0x80) return /grpc-status:\s*(\d+)/i.exec(frame.data.toString("latin1"))?.[1];
  }
  return undefined;
}

/** Error code of a Connect streaming end-of-stream frame (flag 0x02), if any. */
function connectEndCode(body: Buffer): string | undefined {
  for (const frame of frames(body)) {
    if (frame.flags & 0x02) {
      try {
        const end = JSON.parse(frame.data.toString("utf8")) as { error?: { code?: string } };
        return end.error?.code;
      } catch {
        return "unparseable end of stream";
      }
    }
  }
  return undefined;
}

/** Length-prefixed frames: 1 byte flags, 4 bytes big-endian length, data. */
function* frames(body: Buffer) {
  let at = 0;
  while (at + 5 <= body.length) {
    const flags = body[at]!;
    const length = body.readUInt32BE(at + 1);
    if (at + 5 + length > body.length) return;
    yield { flags, data: body.subarray(at + 5, at + 5 + length) };
    at += 5 + length;
  }
}

/** gRPC status codes that mean the server failed, not the client: the 5xx of gRPC. */
const serverGrpcCodes = new Set(["2", "13", "14", "15"]);
/** The same for Connect error codes. */
const serverConnectCodes = new Set(["unknown", "internal", "unavailable", "data_loss"]);

/** Whether an answer is a server error (5xx, or its gRPC/Connect equivalent). */
export function isServerError(outcome: FuzzOutcome): boolean {
  if (outcome.kind !== "answered") return false;
  if (outcome.status >= 500) return true;
  return (
    outcome.code !== undefined &&
    (serverGrpcCodes.has(outcome.code) || serverConnectCodes.has(outcome.code))
  );
}
