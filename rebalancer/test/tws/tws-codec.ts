// Framing of the TWS API socket protocol (the "V100+" envelope): every message is a 4-byte
// big-endian length followed by fields, each ended by NUL. The client opens with "API\0" and one
// length-prefixed version string ("v100..193") that has no trailing NUL.

/** A field as written on the wire; undefined and null become empty fields, booleans 1 / 0. */
export type TwsField = string | number | boolean | undefined | null;

/** Encodes one message as a length-prefixed frame. */
export function encodeFrame(fields: readonly TwsField[]): Buffer {
  const payload = Buffer.from(fields.map(fieldText).join("\0") + "\0", "utf8");
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

function fieldText(field: TwsField): string {
  if (field === undefined || field === null) return "";
  if (typeof field === "boolean") return field ? "1" : "0";
  return String(field);
}

/** Splits a client's byte stream into messages (arrays of fields). */
export class TwsFrameReader {
  private buffer = Buffer.alloc(0);
  private greeted = false;

  /** Adds received bytes; returns the messages completed by them. Throws on a bad greeting. */
  push(chunk: Buffer): string[][] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.greeted) {
      if (this.buffer.length < 4) return [];
      if (this.buffer.subarray(0, 4).toString("latin1") !== "API\0") {
        throw new Error("client did not open with API\\0");
      }
      this.buffer = this.buffer.subarray(4);
      this.greeted = true;
    }
    const messages: string[][] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (this.buffer.length < 4 + length) break;
      const fields = this.buffer
        .subarray(4, 4 + length)
        .toString("utf8")
        .split("\0");
      // A NUL-terminated payload splits into a trailing empty string; the greeting has none.
      if (fields.length > 1 && fields[fields.length - 1] === "") fields.pop();
      messages.push(fields);
      this.buffer = this.buffer.subarray(4 + length);
    }
    return messages;
  }
}
