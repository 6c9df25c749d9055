// Binary protobuf that does not decode is the client's mistake: connect-es answers it as
// `internal` (HTTP 500 on Connect), so the messages of unary and server-streaming calls are
// decoded here first and a failure is answered as invalid_argument in the caller's protocol.
import { fromBinary } from "@bufbuild/protobuf";
import type { DescMethod } from "@bufbuild/protobuf";
import type { NodeResponse } from "./node-request-handler.js";

/** Which framing a binary request uses; undefined for JSON and anything else left to Connect. */
export type BinaryFraming = "grpc" | "grpc-web" | "connect-stream" | "connect-unary";

/** The binary framing of a content type, if it is one this check covers. */
export function binaryFraming(contentType: string): BinaryFraming | undefined {
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  if (type === "application/grpc" || type === "application/grpc+proto") return "grpc";
  if (type === "application/grpc-web" || type === "application/grpc-web+proto") return "grpc-web";
  if (type === "application/connect+proto") return "connect-stream";
  if (type === "application/proto") return "connect-unary";
  return undefined;
}

/**
 * Why the body's messages do not decode as the method's input, or undefined when they do (or
 * when the envelopes are compressed: Connect checks those after inflating).
 */
export function binaryProblem(
  method: DescMethod,
  framing: BinaryFraming,
  body: Uint8Array,
): string | undefined {
  const messages: Uint8Array[] = [];
  if (framing === "connect-unary") {
    messages.push(body);
  } else {
    let offset = 0;
    while (offset < body.length) {
      if (body.length - offset < 5) return "a truncated message envelope";
      const flags = body[offset]!;
      const length = Buffer.from(body.buffer, body.byteOffset + offset + 1, 4).readUInt32BE(0);
      if (body.length - offset - 5 < length) return "a truncated message envelope";
      if ((flags & 0x01) !== 0) return undefined;
      messages.push(body.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
  }
  for (const message of messages) {
    try {
      fromBinary(method.input, message);
    } catch (error) {
      return `the request is not a valid ${method.input.typeName}: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/** Answers invalid_argument with `message` in the framing's protocol. */
export function writeBinaryRefusal(
  res: NodeResponse,
  framing: BinaryFraming,
  message: string,
): void {
  const text = message.slice(0, 300);
  if (framing === "grpc" || framing === "grpc-web") {
    // A trailers-only answer: the status travels in the headers.
    res.writeHead(200, {
      "content-type": framing === "grpc" ? "application/grpc+proto" : "application/grpc-web+proto",
      "grpc-status": "3",
      "grpc-message": encodeURIComponent(text),
    });
    res.end();
    return;
  }
  const error = { code: "invalid_argument", message: text };
  if (framing === "connect-unary") {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify(error));
    return;
  }
  const end = Buffer.from(JSON.stringify({ error }), "utf8");
  const frame = Buffer.alloc(5 + end.length);
  frame[0] = 0x02;
  frame.writeUInt32BE(end.length, 1);
  end.copy(frame, 5);
  res.writeHead(200, { "content-type": "application/connect+proto" });
  res.end(frame);
}

/**
 * Why a Connect GET's binary `message` query parameter does not decode (bad base64 or bad
 * protobuf), or undefined when it does or is not binary.
 */
export function getProblem(method: DescMethod, query: URLSearchParams): string | undefined {
  if (query.get("encoding") !== "proto" || query.has("compression")) return undefined;
  const text = query.get("message") ?? "";
  let bytes: Uint8Array;
  if (query.get("base64") === "1") {
    if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(text)) return "message: not valid base64";
    bytes = Buffer.from(text.replaceAll("-", "+").replaceAll("_", "/"), "base64");
  } else {
    bytes = Buffer.from(text, "latin1");
  }
  try {
    fromBinary(method.input, bytes);
    return undefined;
  } catch (error) {
    return `message: not a valid ${method.input.typeName}: ${(error as Error).message}`;
  }
}
