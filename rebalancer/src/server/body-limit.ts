import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Passes a request body through, failing with invalid_argument once it is longer than maxBytes.
 * A declared Content-Length over the limit fails before anything is read.
 */
export async function* limitBody(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  contentLength: string | null | undefined,
): AsyncGenerator<Uint8Array> {
  const declared = contentLength ? Number(contentLength) : Number.NaN;
  if (declared > maxBytes) {
    throw bodyTooLarge(maxBytes, declared);
  }
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw bodyTooLarge(maxBytes);
    }
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
