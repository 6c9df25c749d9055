// connect-node's connectNodeAdapter, plus a limit on the whole request body that answers
// invalid_argument in the caller's protocol (Connect's own readMaxBytes answers
// resource_exhausted), and failures logged through the service's logger.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter, ContextValues } from "@connectrpc/connect";
import {
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import type { Logger } from "@mesh/platform/logger";
import { bodyFormat, bodyProblem, getProblem, writeRefusal } from "./request-body-check.js";
import { limitBody } from "./body-limit.js";
import type { NodeRequestHandler, NodeResponse } from "@mesh/platform/server/node-request-handler";
import { writeJson } from "@mesh/platform/server/write-json";

// gRPC, gRPC-Web and Connect streaming frame their bodies in envelopes; Connect unary does not.
const envelopedContentType = /^application\/(grpc|connect\+)/i;

/** Options of createConnectRequestHandler. */
export interface ConnectRequestHandlerOptions {
  /**
   * The router every served service is registered with. Give it readMaxBytes = maxBodyBytes:
   * that bounds what a compressed message may inflate to.
   */
  router: ConnectRouter;
  /** Longest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Serves requests whose path names no RPC (REST routes, 404). */
  fallback: NodeRequestHandler;
  /** Receives handler failures; default silent. */
  logger?: Logger;
  /** Values handed to the implementation from the Node request, e.g. the caller's identity. */
  contextValues?: (req: Parameters<NodeRequestHandler>[0]) => ContextValues;
}

/** Serves every RPC of the router over gRPC, gRPC-Web and Connect, on HTTP/1.1 and HTTP/2. */
export function createConnectRequestHandler(
  options: ConnectRequestHandlerOptions,
): NodeRequestHandler {
  const { maxBodyBytes, fallback, logger } = options;
  const handlers = new Map<string, UniversalHandler>();
  for (const handler of options.router.handlers) {
    handlers.set(handler.requestPath, handler);
  }
  return function connectRequestHandler(req, res): void {
    // Strip the query (Connect GET carries the message there) when matching paths.
    const handler = handlers.get((req.url ?? "").split("?", 1)[0] ?? "");
    if (handler === undefined) {
      fallback(req, res);
      return;
    }
    let request: UniversalServerRequest;
    try {
      request = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    } catch (error) {
      writeJson(res, 400, {
        code: "invalid_argument",
        message: ConnectError.from(error).rawMessage,
      });
      return;
    }
    const header = new Headers(request.header);
    // Checked here instead, so that an oversize body is invalid_argument on every protocol
    // rather than Connect's resource_exhausted.
    header.delete("content-length");
    const limited: UniversalServerRequest = {
      ...request,
      header,
      body: limitBody(request.body as AsyncIterable<Uint8Array>, maxBodyBytes, {
        contentLength: request.header.get("content-length"),
        enveloped: envelopedContentType.test(request.header.get("content-type") ?? ""),
      }),
    };
    if (request.method === "GET") {
      const problem = getProblem(handler.method, new URL(request.url).search, maxBodyBytes);
      if (problem !== undefined) {
        writeRefusal(
          res,
          { framing: "connect-unary", codec: "json", compression: "identity" },
          problem,
        );
        return;
      }
    }
    // Unary and server-streaming bodies are whole before the call starts: read them here first.
    const format = bodyFormat(request.header);
    const checked =
      format !== undefined &&
      request.method === "POST" &&
      (handler.method.methodKind === "unary" || handler.method.methodKind === "server_streaming");
    if (checked) {
      void buffered(limited.body as AsyncIterable<Uint8Array>).then((body) => {
        if (body instanceof Uint8Array) {
          const problem = bodyProblem(handler.method, format, body, maxBodyBytes);
          if (problem !== undefined) {
            writeRefusal(res, format, problem);
            return;
          }
        }
        serve(handler, { ...limited, body: replay(body) }, res);
      });
      return;
    }
    serve(handler, limited, res);
  };

  function serve(
    handler: UniversalHandler,
    request: UniversalServerRequest,
    res: NodeResponse,
  ): void {
    handler(request)
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // Aborted here means the client went away while the response was written.
        if (ConnectError.from(reason).code !== Code.Aborted) {
          logger?.error({ err: reason, procedure: handler.requestPath }, "RPC response failed");
        }
      });
  }
}

/** The whole body, or the error reading it failed with (e.g. over the limit). */
async function buffered(body: AsyncIterable<Uint8Array>): Promise<Uint8Array | unknown> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk);
  } catch (error) {
    return error;
  }
  return Buffer.concat(chunks);
}

/** A buffered body again as a stream, or its reading error thrown where Connect reads it. */
async function* replay(body: Uint8Array | unknown): AsyncGenerator<Uint8Array> {
  if (!(body instanceof Uint8Array)) throw body;
  yield body;
}
