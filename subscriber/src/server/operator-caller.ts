import { createHash } from "node:crypto";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/**
 * What the operator gate verified of the caller, set per request once it let the call through:
 * the fingerprint of the API key presented, or "this host" when keys are off. What a change is
 * recorded under, beside what the caller says it is.
 */
export const operatorCallerKey = createContextKey("unverified", {
  description: "the operator gate's verified caller",
});

/** A key's fingerprint: names which key acted (across a rotation) without revealing it. */
export function keyFingerprint(key: string): string {
  return `key ${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 8)}`;
}

/** Who asked for a change: what the caller says it is ("api" if nothing), and what was verified. */
export function operatorCaller(context: HandlerContext, said: string): string {
  return `${said.trim() || "api"} (${context.values.get(operatorCallerKey)})`;
}
