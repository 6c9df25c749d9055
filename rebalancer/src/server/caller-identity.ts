// Who is calling, from the TLS client certificate, for the run's trigger.
import { AsyncLocalStorage } from "node:async_hooks";
import type { TLSSocket } from "node:tls";
import { createContextKey, createContextValues } from "@connectrpc/connect";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import type { NodeRequest, NodeRequestHandler } from "./node-request-handler.js";

/** The subject of the caller's verified client certificate, e.g. "CN=subscriber,O=mesh". */
export const callerSubjectKey = createContextKey<string | undefined>(undefined, {
  description: "subject of the verified TLS client certificate",
});

/** Context values of one request: the verified client certificate's subject, if any. */
export function callerContextValues(req: NodeRequest): ContextValues {
  const values = createContextValues();
  const subject = peerSubject(req);
  if (subject !== undefined) values.set(callerSubjectKey, subject);
  return values;
}

// REST calls reach the implementation through an in-process transport, which carries no context
// values: the REST request's caller travels in the async context instead.
const restCaller = new AsyncLocalStorage<string>();

/** Runs `handler` (the REST routes) with the request's verified caller in its async context. */
export function withRestCaller(handler: NodeRequestHandler): NodeRequestHandler {
  return (req, res) => restCaller.run(peerSubject(req) ?? "", () => handler(req, res));
}

/** The verified caller of an RPC, whichever protocol (REST included) it came in on; "" if none. */
export function callerSubject(context: HandlerContext): string {
  return context.values.get(callerSubjectKey) ?? restCaller.getStore() ?? "";
}

function peerSubject(req: NodeRequest): string | undefined {
  // HTTP/2 requests expose their session's socket through a proxy; HTTP/1.1 the socket itself.
  const socket = req.socket as TLSSocket | undefined;
  if (socket === undefined || typeof socket.getPeerCertificate !== "function") return undefined;
  // Only a certificate the handshake verified names a caller.
  if (!socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  if (certificate === null || certificate.subject === undefined) return undefined;
  return Object.entries(certificate.subject)
    .map(([name, value]) => `${name}=${Array.isArray(value) ? value.join("+") : String(value)}`)
    .join(",");
}
