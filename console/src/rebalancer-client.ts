import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { ApiKeyStore } from "./api-key-store.js";
import { createBearerInterceptor } from "./bearer-interceptor.js";

/** The generated RebalancerService client. */
export type RebalancerClient = Client<typeof RebalancerService>;

/**
 * A client calling the rebalancer at `baseUrl` with Connect JSON (what a browser's fetch and
 * CORS handle most simply), sending the stored API key on every call.
 */
export function createRebalancerClient(baseUrl: string, keys: ApiKeyStore): RebalancerClient {
  const transport = createConnectTransport({
    baseUrl,
    useBinaryFormat: false,
    interceptors: [createBearerInterceptor(keys)],
  });
  return createClient(RebalancerService, transport);
}
