// connect-node's connectNodeAdapter, plus a limit on the whole request body that answers
// invalid_argument in the caller's protocol (Connect's own readMaxBytes answers
// resource_exhausted), and failures logged through the service's logger.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import type { Logger } from "@mesh/platform/logger";
import { limitBody } from "./body-limit.js";
import type { NodeRequestHandler } from "./node-request-handler.js";
import { writeJson } from "./write-json.js";

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
      request = universalRequestFromNodeRequest(req, res, undefined, undefined);
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
    handler(limited)
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // Aborted here means the client went away while the response was written.
        if (ConnectError.from(reason).code !== Code.Aborted) {
          logger?.error({ err: reason, procedure: handler.requestPath }, "RPC response failed");
        }
      });
  };
}
