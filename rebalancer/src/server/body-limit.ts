import { Code, ConnectError } from "@connectrpc/connect";

/** What limitBody knows of the body before reading it. */
export interface BodyShape {
  /** The Content-Length header, when sent. */
  contentLength?: string | null;
  /**
   * True for gRPC, gRPC-Web and Connect streaming bodies: a series of envelopes, each a flags
   * byte, a 4-byte big-endian length and the message.
   */
  enveloped?: boolean;
}

/**
 * Passes a request body through, failing with invalid_argument as soon as it is known to be
 * longer than maxBytes: from Content-Length before anything is read, from an envelope's declared
 * length before the message is buffered (a decoder would otherwise allocate whatever the client
 * declares), or from the bytes counted so far.
 */
export async function* limitBody(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  shape: BodyShape = {},
): AsyncGenerator<Uint8Array> {
  const declared = shape.contentLength ? Number(shape.contentLength) : Number.NaN;
  if (declared > maxBytes) {
    throw bodyTooLarge(maxBytes, declared);
  }
  let total = 0;
  // Envelope parsing state: header bytes seen of the current envelope, payload bytes still due.
  const header = new Uint8Array(5);
  let headerBytes = 0;
  let payloadLeft = 0;
  for await (const chunk of body) {
    if (total + chunk.byteLength > maxBytes) {
      throw bodyTooLarge(maxBytes);
    }
    if (shape.enveloped === true) {
      for (let i = 0; i < chunk.byteLength;) {
        if (payloadLeft > 0) {
          const taken = Math.min(payloadLeft, chunk.byteLength - i);
          payloadLeft -= taken;
          i += taken;
          continue;
        }
        header[headerBytes++] = chunk[i++] ?? 0;
        if (headerBytes === header.byteLength) {
          headerBytes = 0;
          payloadLeft = new DataView(header.buffer).getUint32(1);
          if (total + i + payloadLeft > maxBytes) {
            throw bodyTooLarge(maxBytes, total + i + payloadLeft);
          }
        }
      }
    }
    total += chunk.byteLength;
    yield chunk;
  }
}

function bodyTooLarge(maxBytes: number, declared?: number): ConnectError {
  const size = declared === undefined ? "" : ` of ${declared} bytes`;
  return new ConnectError(
    `request body${size} exceeds the limit of ${maxBytes} bytes`,
    Code.InvalidArgument,
  );
}
