// Retries a call after asking for the API key when the server answers unauthenticated. The
// check happens before the server reads the request, so a refused Rebalance placed nothing,
// and its retry carries the same idempotency key anyway.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ApiKeyStore } from "./api-key-store.js";

/** Asks a person for the key; resolves undefined when they decline. */
export type AskForApiKey = (problem: string) => Promise<string | undefined>;

/** Runs calls that may need the API key. */
export type WithApiKey = <T>(attempt: () => Promise<T>) => Promise<T>;

/**
 * Wraps calls so that an unauthenticated answer asks for the key (once for calls failing
 * together), keeps it in `keys` and tries again. A declined prompt rethrows the server's error.
 */
export function createApiKeyGate(keys: ApiKeyStore, ask: AskForApiKey): WithApiKey {
  let asking: Promise<string | undefined> | undefined;

  return async function withApiKey<T>(attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      const sent = keys.get();
      try {
        return await attempt();
      } catch (error) {
        if (ConnectError.from(error).code !== Code.Unauthenticated) throw error;
        // Another call got a new key in the meantime: try with that one.
        if (keys.get() !== sent) continue;
        if (asking === undefined) {
          if (sent !== undefined) keys.clear();
          const problem =
            sent === undefined
              ? "The rebalancer needs an API key."
              : "The API key was not accepted. Enter a valid key.";
          asking = ask(problem).finally(() => (asking = undefined));
        }
        const key = await asking;
        if (key === undefined || key === "") throw error;
        keys.set(key);
      }
    }
  };
}
