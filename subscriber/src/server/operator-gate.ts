import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import { createAuthGate } from "@mesh/platform/server/auth-gate";

/** Whether the caller's connection comes from this host; set per request by the server. */
export const loopbackCallerKey = createContextKey(false, { description: "loopback caller" });

/**
 * The gate of SubscriberService, the rule of the ingress's details: with keys, a caller sends
 * `Authorization: Bearer <key>` with one of them; without any, only callers on this host (the
 * CLI's reach) are served, since re-driving a dead letter places orders.
 */
export function createOperatorGate(
  apiKeys: readonly string[] | (() => readonly string[]),
): (context: HandlerContext) => void {
  const keyGate = createAuthGate({ apiKeys });
  const keys = () => (typeof apiKeys === "function" ? apiKeys() : apiKeys);
  return function operatorGate(context) {
    if (keys().length > 0) return keyGate(context);
    if (!context.values.get(loopbackCallerKey)) {
      throw new ConnectError(
        `${context.method.name} is served only to callers on the subscriber's host while SUBSCRIBER_API_KEYS is unset`,
        Code.PermissionDenied,
      );
    }
  };
}
