import { expect } from "chai";
import { encodeFrame, TwsFrameReader } from "./tws-codec.js";

describe("TWS framing", () => {
  it("writes a big-endian length, then each field ended by NUL", () => {
    const frame = encodeFrame([9, 1, 1000000, "", true, undefined]);
    expect(frame.readUInt32BE(0)).to.equal(frame.length - 4);
    expect(frame.subarray(4).toString()).to.equal("9\u00001\u00001000000\u0000\u00001\u0000\u0000");
  });

  it("reads the API greeting and frames split anywhere across chunks", () => {
    const greeting = Buffer.from("v100..193");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(greeting.length);
    const bytes = Buffer.concat([
      Buffer.from("API\0"),
      length,
      greeting,
      encodeFrame([71, 2, 7, ""]),
    ]);
    const reader = new TwsFrameReader();
    const messages = [...bytes].flatMap((byte) => reader.push(Buffer.from([byte])));
    expect(messages).to.deep.equal([["v100..193"], ["71", "2", "7", ""]]);
  });

  it("refuses a client that does not open with API\\0", () => {
    expect(() => new TwsFrameReader().push(Buffer.from("GET / HTTP/1.1"))).to.throw(/API/);
  });
});
