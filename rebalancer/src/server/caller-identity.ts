// Who is calling, from the TLS client certificate, for the run's trigger (read by the service
// with callerSubject).
import type { TLSSocket } from "node:tls";
import { createContextValues, type ContextValues } from "@connectrpc/connect";
import { callerSubjectKey, withRestCallerSubject } from "../service/caller-subject.js";
import type { NodeRequest, NodeRequestHandler } from "@mesh/platform/server/node-request-handler";

/** Context values of one request: the verified client certificate's subject, if any. */
export function callerContextValues(req: NodeRequest): ContextValues {
  const values = createContextValues();
  const subject = peerSubject(req);
  if (subject !== undefined) values.set(callerSubjectKey, subject);
  return values;
}

/** Runs `handler` (the REST routes) with the request's verified caller in its async context. */
export function withRestCaller(handler: NodeRequestHandler): NodeRequestHandler {
  return (req, res) => withRestCallerSubject(peerSubject(req) ?? "", () => handler(req, res));
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
