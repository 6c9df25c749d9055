// REST-style routes from the service's google.api.http annotations. Each route decodes its
// request with the method's own JSON schema and calls the RPC through a Connect transport, so a
// REST call meets the same authentication gate, interceptors and implementation as any other.
import { fromJson } from "@bufbuild/protobuf";
import type {
  DescMethod,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  JsonObject,
  JsonValue,
  Message,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import type { Logger } from "@mesh/platform/logger";
import { limitBody } from "./body-limit.js";
import type {
  NodeRequest,
  NodeRequestHandler,
  NodeResponse,
} from "@mesh/platform/server/node-request-handler";
import { restError } from "./rest-error.js";
import { restRequestJson } from "./rest-request-json.js";
import { restResponseJson } from "./rest-response-json.js";
import { restRoutes } from "./rest-routes.js";
import type { RestRoute } from "./rest-routes.js";
import { serveEvents, type RestEventStream } from "./serve-events.js";
import { writeJson } from "@mesh/platform/server/write-json";

/** What a method needs beyond the generic JSON mapping on its REST routes. */
export interface RestMethodAdapter {
  /** Rewrites the request's JSON before it is decoded, e.g. to accept the seed's field names. */
  prepareJson?(json: JsonObject, route: RestRoute): JsonObject;
  /** Adjusts the decoded request for the route it came through, e.g. forcing a mode. */
  prepare?(request: Message, route: RestRoute): void;
  /** Folds a server stream into one JSON answer; default: the array of every response. */
  collect?(request: Message, responses: AsyncIterable<Message>): Promise<unknown>;
  /** HTTP status of a successful answer; default 200. */
  status?(response: Message): number;
  /**
   * Serves the server stream as Server-Sent Events instead of one JSON answer; default none.
   * Meant for streams that do not end by themselves (watches).
   */
  eventStream?: RestEventStream;
}

/** Options of createRestGateway. */
export interface RestGatewayOptions {
  /** The service whose annotated methods become routes. */
  service: DescService;
  /** Carries the calls to the service, e.g. an in-process router transport. */
  transport: Transport;
  /** Per-method adjustments; default none. */
  adapters?: ReadonlyMap<DescMethod, RestMethodAdapter>;
  /** Longest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Request headers passed on to the call; default authorization, traceparent, tracestate. */
  forwardedHeaders?: readonly string[];
  /** Serves paths no route matches; default a 404 JSON error. */
  fallback?: NodeRequestHandler;
  /** Receives internal errors; default silent. */
  logger?: Logger;
}

/** A request handler serving the routes, with the route table it serves. */
export type RestGateway = NodeRequestHandler & { readonly routes: readonly RestRoute[] };

/** Serves the REST routes of a service. Throws at start-up when an annotation is unusable. */
export function createRestGateway(options: RestGatewayOptions): RestGateway {
  const routes = restRoutes(options.service);
  const { transport, maxBodyBytes, logger } = options;
  const adapters = options.adapters ?? new Map<DescMethod, RestMethodAdapter>();
  const forwarded = options.forwardedHeaders ?? ["authorization", "traceparent", "tracestate"];
  const fallback = options.fallback ?? notFound;

  async function serve(req: NodeRequest, res: NodeResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    let matches: { route: RestRoute; variables: Map<string, string> }[];
    try {
      matches = routes.flatMap((route) => {
        const variables = route.path.match(url.pathname);
        return variables === undefined ? [] : [{ route, variables }];
      });
    } catch {
      // decodeURIComponent refuses malformed %-escapes: the client's mistake, answered.
      writeJson(res, 400, {
        code: "invalid_argument",
        message: "the path has a malformed %-escape",
      });
      return;
    }
    if (matches.length === 0) {
      fallback(req, res);
      return;
    }
    const match = matches.find(({ route }) => route.httpMethod === req.method);
    if (match === undefined) {
      const allowed = [...new Set(matches.map(({ route }) => route.httpMethod))].join(", ");
      writeJson(
        res,
        405,
        {
          code: "unimplemented",
          message: `${req.method} ${url.pathname} is not served; use ${allowed}`,
        },
        { allow: allowed },
      );
      return;
    }
    const { route, variables } = match;
    const method = route.method;
    const adapter = adapters.get(method);
    // The call ends with the HTTP exchange: a client that goes away cancels it.
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    const header = new Headers();
    for (const name of forwarded) {
      const value = req.headers[name];
      if (typeof value === "string") {
        header.set(name, value);
      }
    }
    try {
      const body = route.body === "" ? undefined : await readJsonBody(req, maxBodyBytes);
      const json = restRequestJson(route, variables, url.searchParams, body);
      const lastEventId = req.headers["last-event-id"];
      if (adapter?.eventStream && typeof lastEventId === "string" && lastEventId !== "") {
        json[adapter.eventStream.resumeField] ??= lastEventId;
      }
      const input = decode(method, adapter?.prepareJson?.(json, route) ?? json);
      adapter?.prepare?.(input, route);
      let answer: unknown;
      let status = 200;
      if (method.methodKind === "unary") {
        const unary = method as DescMethodUnary;
        const response = await transport.unary(unary, abort.signal, undefined, header, input);
        answer = restResponseJson(method.output, response.message);
        status = adapter?.status?.(response.message) ?? 200;
      } else if (method.methodKind === "server_streaming") {
        const response = await transport.stream(
          method as DescMethodServerStreaming,
          abort.signal,
          undefined,
          header,
          single(input),
        );
        if (adapter?.eventStream) {
          await serveEvents(res, method, adapter.eventStream, response.message, logger);
          return;
        }
        answer = adapter?.collect
          ? await adapter.collect(input, response.message)
          : await allAsJson(method, response.message);
      } else {
        throw new ConnectError(`${method.name} cannot be called over REST`, Code.Unimplemented);
      }
      writeJson(res, status, answer);
    } catch (error) {
      const { status, body } = restError(error);
      if (status >= 500) {
        logger?.error({ err: error, route: route.path.template }, "REST call failed");
      }
      const headers: Record<string, string> = {};
      if (status === 401) {
        headers["www-authenticate"] = "Bearer";
      }
      // An HTTP/1.1 body left unread would be read as the next request: close instead.
      if (req.httpVersionMajor === 1 && !req.readableEnded) {
        headers["connection"] = "close";
      }
      if (!res.headersSent) {
        writeJson(res, status, body, headers);
      }
    }
  }

  const handler = (req: NodeRequest, res: NodeResponse): void => {
    serve(req, res).catch((error: unknown) => {
      logger?.error({ err: error }, "REST request failed");
      res.destroy?.();
    });
  };
  return Object.assign(handler, { routes });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The body as JSON, undefined when empty. Oversize bodies and bad JSON are invalid_argument. */
async function readJsonBody(req: NodeRequest, maxBytes: number): Promise<JsonValue | undefined> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of limitBody(req, maxBytes, {
    contentLength: req.headers["content-length"],
  })) {
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = strictUtf8.decode(Buffer.concat(chunks));
  } catch {
    throw new ConnectError("the request body is not valid UTF-8", Code.InvalidArgument);
  }
  if (text.trim() === "") {
    return undefined;
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConnectError(`the request body is not valid JSON: ${reason}`, Code.InvalidArgument);
  }
}

function decode(method: DescMethod, json: JsonValue): Message {
  try {
    return fromJson(method.input, json);
  } catch (error) {
    throw ConnectError.from(error, Code.InvalidArgument);
  }
}

async function* single<T>(value: T): AsyncGenerator<T> {
  yield value;
}

async function allAsJson(
  method: DescMethod,
  responses: AsyncIterable<Message>,
): Promise<JsonValue[]> {
  const answers: JsonValue[] = [];
  for await (const response of responses) {
    answers.push(restResponseJson(method.output, response));
  }
  return answers;
}

function notFound(req: NodeRequest, res: NodeResponse): void {
  const path = (req.url ?? "/").split("?", 1)[0];
  writeJson(res, 404, { code: "not_found", message: `no route for ${req.method} ${path}` });
}
