// Mutations that make a request invalid for sure, and noise that may or may not. A request that
// could trade (a live rebalance on a real account) only ever goes out with at least one sure
// mutation, so any run or order it causes is a defect, never a fuzzing accident.
import fc from "fast-check";

/** A JSON object request and a mutation name. */
export interface Mutated<T> {
  value: T;
  mutation: string;
}

/** JSON values of the wrong type for any field (never null: null means "unset" in proto JSON). */
const wrongTyped = fc.oneof(
  fc.integer({ min: -5, max: 1e6 }).map((n) => n + 0.5),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

/** Enum spellings that are neither a value's name nor a documented friendly spelling. */
export const badEnums = fc.constantFrom<unknown>(
  "LIVE",
  "2",
  "EXECUTION_MODE_LIVE ",
  "execution_mode_live",
  "EXECUTION_MODE_LIVEE",
  "Live!",
  7,
  -1,
  2.5,
  99999999999,
  "",
  "\u0000",
);

/**
 * Sure JSON mutations of `base`, whose string fields are `stringFields` and whose enum field is
 * `enumField`: each result is invalid under strict decoding.
 */
export function sureJsonMutation(
  base: Record<string, unknown>,
  stringFields: string[],
  enumField?: string,
): fc.Arbitrary<Mutated<string | Buffer>> {
  const text = JSON.stringify(base);
  const known = new Set([...Object.keys(base), ...Object.keys(base).map(snake)]);
  const options: fc.Arbitrary<Mutated<string | Buffer>>[] = [
    fc
      .string({ minLength: 1, maxLength: 20 })
      .filter((name) => !known.has(name) && name !== "__proto__")
      .map((name) => ({
        value: JSON.stringify({ ...base, [name]: 1 }),
        mutation: `unknown field ${JSON.stringify(name)}`,
      })),
    fc.tuple(fc.constantFrom(...Object.keys(base)), wrongTyped).map(([field, wrong]) => ({
      value: JSON.stringify({ ...base, [field]: wrong }),
      mutation: `wrong type for ${field}`,
    })),
    fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((cut) => ({
      value: text.slice(0, cut),
      mutation: `truncated at ${cut}`,
    })),
    fc
      .constantFrom(...Object.keys(base))
      .map((field) => ({ field, flipped: flipCase(field) }))
      .filter(({ flipped }) => !known.has(flipped))
      .map(({ field, flipped }) => ({
        value: JSON.stringify({
          ...Object.fromEntries(Object.entries(base).filter(([k]) => k !== field)),
          [flipped]: base[field],
        }),
        mutation: `misspelt ${field} as ${flipped}`,
      })),
    fc
      .constantFrom("[]", "1", '"x"', "{", "}", "\uFEFF{}x", '{"a":1}{"b":2}', `${text},`)
      .map((value) => ({ value, mutation: `not a request object: ${JSON.stringify(value)}` })),
  ];
  if (stringFields.length > 0) {
    options.push(
      fc.constantFrom(...stringFields).map((field) => ({
        value: invalidUtf8In(base, field),
        mutation: `invalid UTF-8 in ${field}`,
      })),
      fc
        .tuple(fc.constantFrom(...stringFields), fc.integer({ min: 300, max: 120_000 }))
        .map(([field, size]) => ({
          value: JSON.stringify({ ...base, [field]: "D".repeat(size) }),
          mutation: `${field} of ${size} characters`,
        })),
    );
  }
  if (enumField) {
    options.push(
      badEnums.map((bad) => ({
        value: JSON.stringify({ ...base, [enumField]: bad }),
        mutation: `bad enum ${JSON.stringify(bad)}`,
      })),
    );
  }
  return fc.oneof(...options);
}

/** Noise: random JSON documents and bytes, anything at all. */
export const anyBody: fc.Arbitrary<Mutated<string | Buffer>> = fc.oneof(
  fc
    .jsonValue({ maxDepth: 3 })
    .map((v) => ({ value: JSON.stringify(v) ?? "", mutation: "random JSON" })),
  fc
    .uint8Array({ maxLength: 200 })
    .map((b) => ({ value: Buffer.from(b), mutation: "random bytes" })),
  fc.string({ maxLength: 100, unit: "binary" }).map((s) => ({ value: s, mutation: "random text" })),
);

function invalidUtf8In(base: Record<string, unknown>, field: string): Buffer {
  const marker = "\u0001MARK\u0001";
  const text = JSON.stringify({ ...base, [field]: `${String(base[field] ?? "")}${marker}` });
  const [before, after] = text.split(JSON.stringify(marker).slice(1, -1));
  return Buffer.concat([
    Buffer.from(before!),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from(after!),
  ]);
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function flipCase(name: string): string {
  return name[0] === name[0]!.toUpperCase()
    ? name[0]!.toLowerCase() + name.slice(1)
    : name[0]!.toUpperCase() + name.slice(1);
}

/** Strings that are not valid %-encoding, or decode to something odd. */
export const badPathSegments = fc.constantFrom(
  "%E0%A4%A",
  "%",
  "%zz",
  "%C3%28",
  "%00",
  "%2F..%2F",
  "..",
  "%FF%FE",
  "a%2",
  "%ED%A0%80",
);

/** Header noise that never makes a bad request good. */
export const noiseHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.constant({}),
  fc.constant({ "content-encoding": "gzip" }),
  fc.constant({ "content-type": "text/plain" }),
  fc.constant({ "content-type": "application/json; charset=latin1" }),
  fc.constant({ "connect-protocol-version": "2" }),
  fc.constant({ "connect-timeout-ms": "-1" }),
  fc.constant({ "grpc-timeout": "garbage" }),
  fc.constant({ "grpc-encoding": "br" }),
  fc.constant({ "idempotency-key": "k".repeat(5000) }),
  fc.constant({ authorization: "Bearer \u00ff" }),
  fc.constant({ traceparent: "00-zz-yy-01" }),
  fc.constant({ "x-event-id": "" }),
);

/**
 * Sure protobuf mutations of an encoded request whose field 1 is a string: each result fails to
 * decode or breaks a rule (unknown field, undefined enum number, invalid UTF-8).
 */
export function sureProtoMutation(encoded: Uint8Array): fc.Arbitrary<Mutated<Buffer>> {
  const bytes = Buffer.from(encoded);
  const options: fc.Arbitrary<Mutated<Buffer>>[] = [
    fc.integer({ min: 16, max: 2000 }).map((field) => ({
      value: Buffer.concat([bytes, varint(field * 8), varint(1)]),
      mutation: `unknown field ${field}`,
    })),
    // Field 1 (a string) sent as a varint: wrong wire type.
    fc.constant({
      value: Buffer.concat([Buffer.from([0x08, 0x01]), bytes]),
      mutation: "field 1 as varint",
    }),
    // A length that runs past the end.
    fc.integer({ min: 1, max: 50 }).map((extra) => ({
      value: Buffer.concat([bytes, Buffer.from([0x0a]), varint(extra + 10), Buffer.from("short")]),
      mutation: `field 1 length ${extra + 10} past the end`,
    })),
    fc.constant({
      value: Buffer.concat([bytes, Buffer.from([0x0a, 0x03, 0xc3, 0x28, 0xff])]),
      mutation: "invalid UTF-8 in field 1",
    }),
    fc.integer({ min: 3, max: 1_000_000 }).map((mode) => ({
      value: Buffer.concat([bytes, Buffer.from([0x10]), varint(mode)]),
      mutation: `mode ${mode}`,
    })),
    fc.constant({
      value: Buffer.concat([
        bytes,
        Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      ]),
      mutation: "varint over 10 bytes",
    }),
    fc.constant({
      value: Buffer.concat([bytes, Buffer.from([0x0f])]),
      mutation: "bad wire type 7",
    }),
    fc.integer({ min: 1000, max: 120_000 }).map((size) => ({
      // Appended: for a repeated scalar field the last one wins.
      value: Buffer.concat([bytes, Buffer.from([0x0a]), varint(size), Buffer.alloc(size, 0x44)]),
      mutation: `field 1 of ${size} bytes`,
    })),
  ];
  return fc.oneof(...options);
}

/** Noise for a protobuf body: random bytes, or the valid bytes with random flips. */
export function protoNoise(encoded: Uint8Array): fc.Arbitrary<Mutated<Buffer>> {
  return fc.oneof(
    fc
      .uint8Array({ maxLength: 120 })
      .map((b) => ({ value: Buffer.from(b), mutation: "random bytes" })),
    fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
      .map((flips) => {
        const value = Buffer.from(encoded);
        for (const [at, x] of flips) if (value.length > 0) value[at % value.length]! ^= x;
        return {
          value,
          mutation: `bytes flipped at ${flips.map(([at]) => at % Math.max(1, value.length)).join(",")}`,
        };
      }),
  );
}

/** A protobuf varint. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/** A gRPC / Connect envelope: flags, 4-byte length, message. */
export function envelope(message: Buffer, flags = 0, length = message.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, message]);
}

/** Envelope noise: wrong lengths, flags, two messages, a cut header. */
export function envelopeNoise(message: Buffer): fc.Arbitrary<Mutated<Buffer>> {
  return fc.oneof(
    fc.constant({ value: envelope(message), mutation: "envelope" }),
    fc.constant({ value: envelope(message, 1), mutation: "envelope compressed without encoding" }),
    fc.integer({ min: 1, max: 1 << 30 }).map((len) => ({
      value: envelope(message, 0, message.length + len),
      mutation: `envelope length +${len}`,
    })),
    fc.constant({
      value: Buffer.concat([envelope(message), envelope(message)]),
      mutation: "two envelopes",
    }),
    fc.constant({ value: envelope(message).subarray(0, 3), mutation: "envelope header cut" }),
    fc.constant({ value: envelope(message, 0x80), mutation: "envelope with trailer flag" }),
  );
}
