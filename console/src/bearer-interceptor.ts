import type { Interceptor } from "@connectrpc/connect";
import type { ApiKeyStore } from "./api-key-store.js";

/** Sends the stored API key, when there is one, as `Authorization: Bearer <key>`. */
export function createBearerInterceptor(keys: ApiKeyStore): Interceptor {
  return (next) => (request) => {
    const key = keys.get();
    if (key !== undefined) request.header.set("authorization", `Bearer ${key}`);
    return next(request);
  };
}
