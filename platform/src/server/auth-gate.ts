import { createHash, timingSafeEqual } from "node:crypto";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { HandlerContext } from "@connectrpc/connect";

/** Options of createAuthGate. */
export interface AuthGateOptions {
  /**
   * Accepted bearer keys; several at once during a rotation. Empty turns authentication off. A
   * function is asked on every request, so that keys rotated on disk apply without a restart.
   */
  apiKeys: readonly string[] | (() => readonly string[]);
  /** Let methods marked `idempotency_level = NO_SIDE_EFFECTS` through without a key; default false. */
  openReads?: boolean;
  /** Methods that never need a key, e.g. a health RPC; default none. */
  publicMethods?: readonly DescMethod[];
}

/**
 * A Connect request gate requiring `Authorization: Bearer <key>`. It runs before the request
 * body is read, so a refused call costs nothing. Keys are compared as SHA-256 digests with
 * timingSafeEqual against every accepted key, so neither a key's content nor its length leaks
 * through timing; neither the keys nor the presented token appear in any error message.
 */
export function createAuthGate(options: AuthGateOptions): (context: HandlerContext) => void {
  const keys = options.apiKeys;
  // Digests of the last key list seen, recomputed only when the list changes.
  let seen: readonly string[] | undefined;
  let seenDigests: Buffer[] = [];
  const currentDigests = (): Buffer[] => {
    const now = typeof keys === "function" ? keys() : keys;
    if (now !== seen) {
      seen = now;
      seenDigests = now.map(digest);
    }
    return seenDigests;
  };
  const publicMethods = new Set(options.publicMethods ?? []);
  return function authGate(context: HandlerContext): void {
    const digests = currentDigests();
    if (digests.length === 0 || publicMethods.has(context.method)) {
      return;
    }
    if (
      options.openReads === true &&
      context.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
    ) {
      return;
    }
    const header = context.requestHeader.get("authorization");
    const token = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "")?.[1];
    if (token === undefined) {
      throw new ConnectError(
        `${context.method.name} needs an API key: send the header "Authorization: Bearer <key>"`,
        Code.Unauthenticated,
      );
    }
    const presented = digest(token);
    let accepted = false;
    for (const candidate of digests) {
      // No early exit: every key is compared whatever the outcome.
      accepted = timingSafeEqual(presented, candidate) || accepted;
    }
    if (!accepted) {
      throw new ConnectError(
        `the API key sent for ${context.method.name} is not accepted`,
        Code.Unauthenticated,
      );
    }
  };
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
