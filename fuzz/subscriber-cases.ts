// Generated requests to the subscriber's ingress (`POST /events/{channel}`) and Ably webhook
// (`POST /webhooks/ably`). A live command for the real channel always carries a sure mutation;
// the valid messages that do go out are dry runs.
import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import type { FuzzRequest } from "./fuzz-request.js";
import {
  anyBody,
  badPathSegments,
  noiseHeaders,
  sureJsonMutation,
  type Mutated,
} from "./mutations.js";

type Body = Mutated<string | Buffer>;
const text = (b: string | Buffer) => (typeof b === "string" ? Buffer.from(b) : b);

/** A live event, surely mutated; or noise; or a dry run (rarely: each one is a real run). */
function eventPayload(n: string): fc.Arbitrary<Body> {
  const live = { exec: "rebalance", eventId: `fuzz-${n}` };
  const early = { execution: "rebalance" };
  return fc.oneof(
    { weight: 6, arbitrary: sureJsonMutation(live, ["eventId"], "exec") },
    {
      weight: 2,
      arbitrary: sureJsonMutation(early, [], "execution").filter((b) => !isDryEarlyForm(b)),
    },
    { weight: 3, arbitrary: anyBody },
    {
      weight: 1,
      arbitrary: fc.constant<Body>({
        value: JSON.stringify({ exec: "rebalance", eventId: `fuzz-${n}-${"e".repeat(190)}` }),
        mutation: "eventId too long for its keys",
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constant<Body>({
        value: JSON.stringify({ exec: "rebalance", execution: "rebalance", eventId: `fuzz-${n}` }),
        mutation: "both exec and execution",
      }),
    },
  );
}

/**
 * The early form runs a dry run for any string but "rebalance"; a bad-enum mutation of it is
 * valid (a dry run), not a sure mutation, so it is left out.
 */
function isDryEarlyForm(body: Body): boolean {
  return body.mutation.startsWith("bad enum");
}

/** One generated subscriber request for `channel` (the channel the real account follows). */
export function subscriberCase(channel: string, n: string): fc.Arbitrary<FuzzRequest> {
  const channelSegment = fc.oneof(
    { weight: 6, arbitrary: fc.constant(channel) },
    { weight: 2, arbitrary: badPathSegments },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 300 }).map(encodeURIComponent) },
  );
  const event = fc
    .tuple(channelSegment, eventPayload(n), noiseHeaders)
    .map(([seg, body, headers]) => ({
      service: "subscriber" as const,
      protocol: "ingress",
      http2: false,
      method: "POST",
      path: `/events/${seg}`,
      headers: { "content-type": "application/json", ...headers },
      body: text(body.value),
      mutation: [`channel ${seg.slice(0, 30)}`, body.mutation, Object.keys(headers).join(" ")].join(
        "; ",
      ),
    }));
  const webhook = fc.tuple(webhookBody(channel, n), noiseHeaders).map(([body, headers]) => ({
    service: "subscriber" as const,
    protocol: "webhook",
    http2: false,
    method: "POST",
    path: "/webhooks/ably",
    headers: { "content-type": "application/json", ...headers },
    body: text(body.value),
    mutation: [body.mutation, Object.keys(headers).join(" ")].filter(Boolean).join("; "),
  }));
  const other = fc
    .constantFrom(
      { method: "GET", path: "/status" },
      { method: "GET", path: "/health" },
      { method: "GET", path: "/events/%E0%A4%A" },
      { method: "PUT", path: `/events/${channel}` },
      { method: "POST", path: "/events/" },
      { method: "POST", path: "/webhooks/ably/%zz" },
      { method: "GET", path: "//%%" },
    )
    .map(({ method, path }) => ({
      service: "subscriber" as const,
      protocol: "ingress",
      http2: false,
      method,
      path,
      headers: {},
      mutation: `${method} ${path}`,
    }));
  return fc.oneof(
    { weight: 5, arbitrary: event },
    { weight: 4, arbitrary: webhook },
    { weight: 1, arbitrary: other },
  );
}

/** An Ably enveloped batch with junk entries and surely invalid messages among valid dry runs. */
function webhookBody(channel: string, n: string): fc.Arbitrary<Body> {
  const message = fc.oneof(
    fc.constant<unknown>(null),
    fc.constantFrom<unknown>(1, "x", [], true),
    // Bytes that are not UTF-8 cannot be a JSON string without turning into U+FFFD (which would
    // make a valid event of them): they go base64-encoded, as Ably sends binary data.
    eventPayload(n).map((b) =>
      isUtf8(text(b.value))
        ? { id: `fz:${n}`, data: text(b.value).toString("utf8"), encoding: "json" }
        : { id: `fz:${n}`, data: text(b.value).toString("base64"), encoding: "json/utf-8/base64" },
    ),
    eventPayload(n).map((b) => ({
      id: `fz:${n}:b`,
      data: text(b.value).toString("base64"),
      encoding: "json/utf-8/base64",
    })),
    fc.constant({
      id: `fz:${n}:bad64`,
      data: Buffer.from([0xc3, 0x28]).toString("base64"),
      encoding: "utf-8/base64",
    }),
    fc.constant({ id: 5, data: "{}" }),
    fc.constant({ id: `fz:${n}:enc`, data: "{}", encoding: 7 }),
    fc.constant({
      id: `fz:${n}:dry`,
      data: JSON.stringify({ exec: "print-rebalance", eventId: `dry-${n}` }),
      encoding: "json",
    }),
  );
  const item = fc.oneof(
    fc.array(message, { maxLength: 4 }).map((messages) => ({
      source: "channel.message",
      data: { channelId: channel, messages },
    })),
    fc.constantFrom<unknown>(
      null,
      3,
      { source: "channel.message" },
      { source: "channel.message", data: { channelId: 1 } },
    ),
    fc.constant({ source: "channel.presence", data: {} }),
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(item, { maxLength: 3 })
        .map((items) => ({ value: JSON.stringify({ items }), mutation: "batch" })),
    },
    { weight: 2, arbitrary: anyBody },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Body>(
        { value: '{"items":{}}', mutation: "items not an array" },
        { value: Buffer.from([0x7b, 0xff]), mutation: "invalid UTF-8" },
        { value: '{"items":[', mutation: "truncated" },
      ),
    },
  );
}
