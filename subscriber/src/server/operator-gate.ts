import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import { createAuthGate } from "@mesh/platform/server/auth-gate";
import { keyFingerprint, operatorCallerKey } from "./operator-caller.js";

/** Whether the caller's connection comes from this host; set per request by the server. */
export const loopbackCallerKey = createContextKey(false, { description: "loopback caller" });

/**
 * The gate of SubscriberService, the rule of the ingress's details: with keys, a caller sends
 * `Authorization: Bearer <key>` with one of them; without any, only callers on this host (the
 * CLI's reach) are served, since re-driving a dead letter places orders. A caller let through is
 * recorded in the context (operatorCallerKey) for the changes it makes.
 */
export function createOperatorGate(
  apiKeys: readonly string[] | (() => readonly string[]),
): (context: HandlerContext) => void {
  const keyGate = createAuthGate({ apiKeys });
  const keys = () => (typeof apiKeys === "function" ? apiKeys() : apiKeys);
  return function operatorGate(context) {
    if (keys().length > 0) {
      keyGate(context);
      // The gate accepted the bearer token: it is one of the keys.
      const token = /^Bearer[ \t]+(\S+)/i.exec(context.requestHeader.get("authorization") ?? "");
      context.values.set(operatorCallerKey, keyFingerprint(token?.[1] ?? ""));
      return;
    }
    if (!context.values.get(loopbackCallerKey)) {
      throw new ConnectError(
        `${context.method.name} is served only to callers on the subscriber's host while SUBSCRIBER_API_KEYS is unset`,
        Code.PermissionDenied,
      );
    }
    context.values.set(operatorCallerKey, "this host");
  };
}
