import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "chai";
import { limitBody } from "./body-limit.js";

/** Chunks that record how far the reader pulled. */
function source(chunks: Uint8Array[], pulled: { count: number }): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (const chunk of chunks) {
      pulled.count++;
      yield chunk;
    }
  })();
}

/** An envelope header declaring `length`, followed by `length` zero bytes unless told not to. */
function envelope(length: number, withPayload = true): Uint8Array {
  const bytes = new Uint8Array(5 + (withPayload ? length : 0));
  new DataView(bytes.buffer).setUint32(1, length);
  return bytes;
}

async function read(body: AsyncIterable<Uint8Array>): Promise<number> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
  }
  return total;
}

async function failure(body: AsyncIterable<Uint8Array>): Promise<ConnectError> {
  try {
    await read(body);
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the body to be refused");
}

describe("limitBody", () => {
  it("passes a body up to the limit", async () => {
    const pulled = { count: 0 };
    expect(
      await read(limitBody(source([new Uint8Array(6), new Uint8Array(4)], pulled), 10)),
    ).to.equal(10);
  });

  it("refuses a declared Content-Length over the limit before reading", async () => {
    const pulled = { count: 0 };
    const error = await failure(
      limitBody(source([new Uint8Array(1)], pulled), 10, { contentLength: "11" }),
    );
    expect(error.code).to.equal(Code.InvalidArgument);
    expect(error.rawMessage).to.equal("request body of 11 bytes exceeds the limit of 10 bytes");
    expect(pulled.count).to.equal(0);
  });

  it("refuses a body that grows over the limit without a Content-Length", async () => {
    const pulled = { count: 0 };
    const error = await failure(
      limitBody(source([new Uint8Array(6), new Uint8Array(5)], pulled), 10),
    );
    expect(error.rawMessage).to.equal("request body exceeds the limit of 10 bytes");
  });

  it("refuses an envelope declaring more than the limit on seeing its header", async () => {
    const pulled = { count: 0 };
    const header = envelope(0xfffffff0, false);
    const error = await failure(
      limitBody(
        source([header.subarray(0, 2), header.subarray(2), new Uint8Array(3)], pulled),
        1000,
        {
          enveloped: true,
        },
      ),
    );
    expect(error.rawMessage).to.equal(
      `request body of ${0xfffffff0 + 5} bytes exceeds the limit of 1000 bytes`,
    );
    expect(pulled.count).to.equal(2);
  });

  it("follows envelope boundaries across chunks", async () => {
    const pulled = { count: 0 };
    const body = new Uint8Array([...envelope(3), ...envelope(4)]);
    const chunks = [body.subarray(0, 4), body.subarray(4, 13), body.subarray(13)];
    expect(
      await read(limitBody(source(chunks, pulled), body.byteLength, { enveloped: true })),
    ).to.equal(17);
    const error = await failure(
      limitBody(source(chunks, pulled), body.byteLength - 1, { enveloped: true }),
    );
    expect(error.rawMessage).to.equal("request body of 17 bytes exceeds the limit of 16 bytes");
  });
});
