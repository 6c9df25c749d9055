// Generated requests to the rebalancer over gRPC, gRPC-Web, Connect (JSON and binary, POST and
// GET) and REST. A live rebalance of the real account always carries a sure mutation (see
// mutations.ts); everything else is free to be noise.
import { fromJson, toBinary, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  CancelOpenOrdersRequestSchema,
  GetAccountValueRequestSchema,
  GetHealthRequestSchema,
  GetPositionsRequestSchema,
  GetRunRequestSchema,
  GetTargetsRequestSchema,
  ListAccountsRequestSchema,
  ListOpenOrdersRequestSchema,
  ListRunsRequestSchema,
  RebalanceRequestSchema,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { FuzzRequest } from "./fuzz-request.js";
import {
  anyBody,
  badPathSegments,
  envelope,
  envelopeNoise,
  noiseHeaders,
  protoNoise,
  sureJsonMutation,
  sureProtoMutation,
  type Mutated,
} from "./mutations.js";

const servicePath = "/rebalancer.v1.RebalancerService";

/** An account no broker knows: byte flips of requests for it cannot reach a real account. */
const nobody = "ZZFUZZNOBODY";

interface Method {
  name: string;
  schema: DescMessage;
  /** A valid request; `live` marks the one that would trade. */
  base(accountId: string, n: string, live: boolean): { json: JsonObject; live: boolean };
  stringFields: string[];
  enumField?: string;
  streaming: boolean;
  /** Callable with Connect GET (no side effects). */
  get: boolean;
}

const read = (name: string, schema: DescMessage): Method => ({
  name,
  schema,
  base: (accountId) => ({ json: { accountId }, live: false }),
  stringFields: ["accountId"],
  streaming: false,
  get: true,
});

const methods: Method[] = [
  {
    name: "Rebalance",
    schema: RebalanceRequestSchema,
    base: (accountId, n, live): { json: JsonObject; live: boolean } =>
      live
        ? {
            json: { accountId, mode: "EXECUTION_MODE_LIVE", idempotencyKey: `fuzz-${n}` },
            live: true,
          }
        : { json: { accountId, mode: "EXECUTION_MODE_DRY_RUN", waitIfBusy: true }, live: false },
    stringFields: ["accountId", "idempotencyKey"],
    enumField: "mode",
    streaming: true,
    get: false,
  },
  read("GetPositions", GetPositionsRequestSchema),
  read("GetAccountValue", GetAccountValueRequestSchema),
  read("GetTargets", GetTargetsRequestSchema),
  read("ListOpenOrders", ListOpenOrdersRequestSchema),
  {
    ...read("ListRuns", ListRunsRequestSchema),
    base: (accountId) => ({ json: { accountId, limit: 5 }, live: false }),
  },
  {
    ...read("GetRun", GetRunRequestSchema),
    base: () => ({ json: { runId: "run-unknown" }, live: false }),
    stringFields: ["runId"],
  },
  { ...read("CancelOpenOrders", CancelOpenOrdersRequestSchema), get: false },
  {
    ...read("GetHealth", GetHealthRequestSchema),
    base: () => ({ json: {}, live: false }),
    stringFields: [],
  },
  {
    ...read("ListAccounts", ListAccountsRequestSchema),
    base: () => ({ json: {}, live: false }),
    stringFields: [],
  },
];

type Body = Mutated<string | Buffer>;

/** JSON body: sure-invalid for a live base; sure-invalid or noise otherwise. */
function jsonBody(method: Method, json: JsonObject, live: boolean): fc.Arbitrary<Body> {
  const fields = method.stringFields.length > 0 ? method.stringFields : [];
  const sure =
    Object.keys(json).length > 0 && fields.length > 0
      ? sureJsonMutation(json, fields, method.enumField)
      : fc.constant<Body>({
          value: JSON.stringify({ ...json, fuzzUnknown: 1 }),
          mutation: "unknown field fuzzUnknown",
        });
  return live
    ? sure
    : fc.oneof(
        sure,
        anyBody,
        fc.constant<Body>({ value: JSON.stringify(json), mutation: "valid" }),
      );
}

/** Binary body: sure-invalid for a live base; for others also noise on a request for nobody. */
function protoBody(method: Method, json: JsonObject, live: boolean): fc.Arbitrary<Mutated<Buffer>> {
  const bytes = toBinary(method.schema, fromJson(method.schema, json));
  const sure = sureProtoMutation(bytes);
  if (live) return sure;
  const forNobody = "accountId" in json ? { ...json, accountId: nobody } : json;
  const nobodyBytes = toBinary(method.schema, fromJson(method.schema, forNobody));
  return fc.oneof(sure, protoNoise(nobodyBytes));
}

const text = (b: string | Buffer) => (typeof b === "string" ? Buffer.from(b) : b);

/** One generated rebalancer request; `n` numbers the case (idempotency keys differ). */
export function rebalancerCase(accountId: string, n: string): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(fc.constantFrom(...methods), fc.boolean()).chain(([method, wantLive]) => {
    const { json, live } = method.base(accountId, n, wantLive);
    const path = `${servicePath}/${method.name}`;
    const protocols: fc.Arbitrary<FuzzRequest>[] = [
      // gRPC over HTTP/2
      fc
        .tuple(protoBody(method, json, live), fc.boolean(), noiseHeaders)
        .chain(([body, framed, headers]) =>
          (framed
            ? envelopeNoise(body.value)
            : fc.constant({ value: envelope(body.value), mutation: "" })
          ).map((frame) => ({
            service: "rebalancer" as const,
            protocol: "grpc",
            http2: true,
            method: "POST",
            path,
            headers: { "content-type": "application/grpc", te: "trailers", ...headers },
            body: frame.value,
            mutation: [body.mutation, frame.mutation, Object.keys(headers).join(" ")]
              .filter(Boolean)
              .join("; "),
          })),
        ),
      // gRPC-Web over HTTP/1.1, binary or base64 text
      fc
        .tuple(protoBody(method, json, live), fc.boolean(), noiseHeaders)
        .map(([body, asText, headers]) => ({
          service: "rebalancer" as const,
          protocol: asText ? "grpc-web-text" : "grpc-web",
          http2: false,
          method: "POST",
          path,
          headers: {
            "content-type": asText ? "application/grpc-web-text" : "application/grpc-web+proto",
            "x-grpc-web": "1",
            ...headers,
          },
          body: asText
            ? Buffer.from(envelope(body.value).toString("base64"))
            : envelope(body.value),
          mutation: [body.mutation, Object.keys(headers).join(" ")].filter(Boolean).join("; "),
        })),
      // Connect POST, JSON or binary; server streaming is enveloped
      fc
        .tuple(
          fc.boolean(),
          jsonBody(method, json, live),
          protoBody(method, json, live),
          noiseHeaders,
          fc.boolean(),
        )
        .map(([binary, jsonMutated, protoMutated, headers, http2]) => {
          const body = binary ? protoMutated : jsonMutated;
          const codec = binary ? "proto" : "json";
          return {
            service: "rebalancer" as const,
            protocol: `connect-${codec}`,
            http2,
            method: "POST",
            path,
            headers: {
              "content-type": method.streaming
                ? `application/connect+${codec}`
                : `application/${codec}`,
              "connect-protocol-version": "1",
              ...headers,
            },
            body: method.streaming ? envelope(text(body.value)) : text(body.value),
            mutation: [body.mutation, Object.keys(headers).join(" ")].filter(Boolean).join("; "),
          };
        }),
      // REST
      restCase(accountId, live, n),
    ];
    if (method.get) protocols.push(connectGet(method, json, path));
    return fc.oneof(...protocols);
  });
}

/** Connect GET of a read: bad base64, bad JSON, bad parameters. */
function connectGet(method: Method, json: JsonObject, path: string): fc.Arbitrary<FuzzRequest> {
  const query = fc.oneof(
    jsonBody(method, json, false).map((b) => ({
      q: `encoding=json&message=${encodeURIComponent(text(b.value).toString("latin1"))}`,
      mutation: b.mutation,
    })),
    protoBody(method, json, false).map((b) => ({
      q: `encoding=proto&base64=1&message=${b.value.toString("base64url")}`,
      mutation: b.mutation,
    })),
    fc.constantFrom(
      { q: "encoding=proto&base64=1&message=%%%", mutation: "bad %-encoding" },
      { q: "encoding=proto&base64=1&message=!!!not-base64", mutation: "bad base64" },
      { q: "encoding=proto&message=\u00ff", mutation: "raw byte" },
      { q: "encoding=xml&message=x", mutation: "unknown encoding" },
      { q: "encoding=json", mutation: "no message" },
      { q: "encoding=json&message=%7B&compression=gzip", mutation: "compressed garbage" },
      { q: "", mutation: "no parameters" },
    ),
  );
  return query.map(({ q, mutation }) => ({
    service: "rebalancer",
    protocol: "connect-get",
    http2: false,
    method: "GET",
    path: `${path}?connect=v1&${q}`,
    headers: {},
    mutation,
  }));
}

/** The REST routes: mutated bodies on the rebalance routes, odd ids and %-encoding in paths. */
function restCase(accountId: string, live: boolean, n: string): fc.Arbitrary<FuzzRequest> {
  // The key names the request a live run came from, should one ever be created.
  const liveBodies = [
    { execution_mode: "rebalance", idempotency_key: `fuzz-${n}` },
    { mode: "EXECUTION_MODE_LIVE", idempotencyKey: `fuzz-${n}` },
  ];
  const rebalance = fc
    .constantFrom(...liveBodies)
    .chain((base) => fc.tuple(fc.constant(base), sureJsonMutation(base, [], Object.keys(base)[0])))
    .map(([, body]) => ({ path: `/rebalance/${accountId}`, method: "POST", body, live: true }));
  const dryRun = fc
    .oneof(anyBody, sureJsonMutation({ execution_mode: "rebalance" }, [], "execution_mode"))
    .map((body) => ({
      path: `/rebalance/${accountId}/dry-run`,
      method: "POST",
      body,
      live: false,
    }));
  const segment = fc.oneof(
    badPathSegments,
    fc.integer({ min: 200, max: 100_000 }).map((n) => "D".repeat(n)),
    fc.constant(nobody),
  );
  const oddPaths = fc
    .tuple(
      segment,
      fc.constantFrom(
        "/accounts/{}/positions",
        "/accounts/{}/value",
        "/accounts/{}/targets",
        "/accounts/{}/runs",
        "/accounts/{}/orders",
        "/runs/{}",
        "/rebalance/{}",
        "/rebalance/{}/dry-run",
        "/accounts/{}/orders:cancel",
        "/{}",
      ),
    )
    .map(([seg, template]) => ({
      path: template.replace("{}", seg),
      method: template.startsWith("/rebalance") || template.endsWith(":cancel") ? "POST" : "GET",
      body: {
        value: "",
        mutation: `path segment ${seg.slice(0, 20)}${seg.length > 20 ? `… (${seg.length})` : ""}`,
      },
      live: false,
    }));
  const choice = live ? fc.oneof(rebalance, oddPaths) : fc.oneof(dryRun, oddPaths);
  return fc.tuple(choice, noiseHeaders).map(([c, headers]) => ({
    service: "rebalancer",
    protocol: "rest",
    http2: false,
    method: c.method,
    path: c.path,
    headers: { "content-type": "application/json", ...headers },
    ...(c.method === "POST" && c.body.value !== "" ? { body: text(c.body.value) } : {}),
    mutation: [c.body.mutation, Object.keys(headers).join(" ")].filter(Boolean).join("; "),
  }));
}
