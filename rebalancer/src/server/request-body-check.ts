// An RPC body the server cannot read is the client's mistake: connect-es answers a compressed
// envelope it cannot inflate, a body that is not valid protobuf and a Connect GET with bad base64
// as `internal` (HTTP 500), and reads invalid UTF-8 in JSON as U+FFFD. So each body (and each
// Connect GET message) is read here first, inflated where compressed, and a failure is answered
// as invalid_argument in the caller's protocol; Connect then decodes the unchanged bytes itself.
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { fromBinary } from "@bufbuild/protobuf";
import type { DescMethod } from "@bufbuild/protobuf";
import type { NodeResponse } from "@mesh/platform/server/node-request-handler";

/** How a request body is framed and encoded, from its content type and compression headers. */
export interface BodyFormat {
  /** The protocol's framing: envelopes for gRPC, gRPC-Web and Connect streaming. */
  framing: "grpc" | "grpc-web" | "connect-stream" | "connect-unary";
  codec: "proto" | "json";
  /**
   * The compression the protocol's header names (grpc-encoding, connect-content-encoding, or
   * content-encoding for Connect unary); "identity" when none.
   */
  compression: string;
}

// The encodings the router accepts (connect-node's defaults).
const inflaters: Record<string, (bytes: Uint8Array, maxOutputLength: number) => Buffer> = {
  gzip: (bytes, maxOutputLength) => gunzipSync(bytes, { maxOutputLength }),
  br: (bytes, maxOutputLength) => brotliDecompressSync(bytes, { maxOutputLength }),
};

/** The format of a body whose headers name one this check covers, else undefined. */
export function bodyFormat(header: Headers): BodyFormat | undefined {
  const type = (header.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  const match =
    /^application\/(?:(grpc-web|grpc)(?:\+(proto|json))?|connect\+(proto|json)|(proto|json))$/.exec(
      type,
    );
  if (!match) return undefined;
  const [, grpc, grpcCodec, streamCodec, unaryCodec] = match;
  const compression = (name: string) => (header.get(name) ?? "").trim().toLowerCase() || "identity";
  const codec = (grpcCodec ?? streamCodec ?? unaryCodec) === "json" ? "json" : "proto";
  if (grpc === "grpc" || grpc === "grpc-web") {
    return { framing: grpc, codec, compression: compression("grpc-encoding") };
  }
  return streamCodec
    ? { framing: "connect-stream", codec, compression: compression("connect-content-encoding") }
    : { framing: "connect-unary", codec, compression: compression("content-encoding") };
}

/** Why the body's messages cannot be read as the method's input, or undefined when they can. */
export function bodyProblem(
  method: DescMethod,
  format: BodyFormat,
  body: Uint8Array,
  maxBytes: number,
): string | undefined {
  const messages: { bytes: Uint8Array; compressed: boolean }[] = [];
  if (format.framing === "connect-unary") {
    messages.push({ bytes: body, compressed: format.compression !== "identity" });
  } else {
    let offset = 0;
    while (offset < body.length) {
      if (body.length - offset < 5) return "a truncated message envelope";
      const flags = body[offset]!;
      const length = Buffer.from(body.buffer, body.byteOffset + offset + 1, 4).readUInt32BE(0);
      if (body.length - offset - 5 < length) return "a truncated message envelope";
      messages.push({
        bytes: body.subarray(offset + 5, offset + 5 + length),
        compressed: (flags & 0x01) !== 0,
      });
      offset += 5 + length;
    }
  }
  for (const message of messages) {
    const problem = messageProblem(method, format, message.bytes, message.compressed, maxBytes);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Why a Connect GET's `message` query parameter cannot be read (bad base64, a compression it
 * cannot inflate, bad protobuf, invalid UTF-8 in JSON), or undefined when it can.
 */
export function getProblem(
  method: DescMethod,
  search: string,
  maxBytes: number,
): string | undefined {
  const query = new URLSearchParams(search);
  let bytes: Uint8Array;
  if (query.get("base64") === "1") {
    const text = query.get("message") ?? "";
    if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(text)) return "message: not valid base64";
    bytes = Buffer.from(text.replaceAll("-", "+").replaceAll("_", "/"), "base64");
  } else {
    bytes = rawParameter(search, "message");
  }
  const compression = (query.get("compression") ?? "").toLowerCase() || "identity";
  const format: BodyFormat = {
    framing: "connect-unary",
    codec: query.get("encoding") === "proto" ? "proto" : "json",
    compression,
  };
  const problem = messageProblem(method, format, bytes, compression !== "identity", maxBytes);
  return problem === undefined ? undefined : `message: ${problem}`;
}

/**
 * The bytes of a query parameter as sent: URLSearchParams decodes escapes as UTF-8 and would turn
 * a byte that is not UTF-8 into U+FFFD before anyone could refuse it.
 */
function rawParameter(search: string, name: string): Uint8Array {
  const pair = search
    .replace(/^\?/, "")
    .split("&")
    .find((p) => p.split("=", 1)[0] === name);
  const value = pair === undefined ? "" : pair.slice(name.length + 1).replaceAll("+", " ");
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const escape = /^%[0-9a-fA-F]{2}$/.test(value.slice(i, i + 3));
    if (escape) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i]!, "utf8"));
    }
  }
  return Uint8Array.from(bytes);
}

function messageProblem(
  method: DescMethod,
  format: BodyFormat,
  bytes: Uint8Array,
  compressed: boolean,
  maxBytes: number,
): string | undefined {
  let plain = bytes;
  if (compressed) {
    const inflate = inflaters[format.compression];
    if (format.compression === "identity") {
      return "a compressed message without a compression header naming its encoding";
    }
    if (!inflate) {
      return `${format.compression} compression is not accepted (gzip or br are)`;
    }
    try {
      plain = inflate(bytes, maxBytes);
    } catch (error) {
      // Past the limit, Connect's own readMaxBytes answers (resource_exhausted, the limit named).
      if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return undefined;
      return `the message does not inflate as ${format.compression}`;
    }
  }
  if (format.codec === "json") {
    try {
      strictUtf8.decode(plain);
    } catch {
      return "the request is not valid UTF-8";
    }
    return undefined;
  }
  try {
    fromBinary(method.input, plain);
  } catch (error) {
    return `the request is not a valid ${method.input.typeName}: ${(error as Error).message}`;
  }
  return undefined;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Answers invalid_argument with `message` in the protocol of `format`. */
export function writeRefusal(res: NodeResponse, format: BodyFormat, message: string): void {
  const text = message.slice(0, 300);
  if (format.framing === "grpc" || format.framing === "grpc-web") {
    // A trailers-only answer: the status travels in the headers.
    res.writeHead(200, {
      "content-type": `application/${format.framing}+${format.codec}`,
      "grpc-status": "3",
      "grpc-message": encodeURIComponent(text),
    });
    res.end();
    return;
  }
  const error = { code: "invalid_argument", message: text };
  if (format.framing === "connect-unary") {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify(error));
    return;
  }
  const end = Buffer.from(JSON.stringify({ error }), "utf8");
  const frame = Buffer.alloc(5 + end.length);
  frame[0] = 0x02;
  frame.writeUInt32BE(end.length, 1);
  end.copy(frame, 5);
  res.writeHead(200, { "content-type": `application/connect+${format.codec}` });
  res.end(frame);
}
