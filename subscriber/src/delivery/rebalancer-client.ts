import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";

/** A RebalancerService client and the connection behind it. */
export interface RebalancerClient {
  service: Client<typeof RebalancerService>;
  /** Closes the HTTP/2 connection. */
  close(): void;
}

/** Options of createRebalancerClient. */
export interface RebalancerClientOptions {
  /** Base URL of the rebalancer, e.g. http://127.0.0.1:8000. */
  url: string;
  /** Sent as `Authorization: Bearer <key>`; unset sends none (auth off on the embedded default). */
  apiKey?: string;
  /** Give up connecting after this long, ms; default 5000. */
  connectTimeoutMs?: number;
}

/** A gRPC (HTTP/2) client of the rebalancer, so the Rebalance server stream is consumed as it runs. */
export function createRebalancerClient(options: RebalancerClientOptions): RebalancerClient {
  const sessionManager = new Http2SessionManager(options.url, {
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    idleConnectionTimeoutMs: 60_000,
  });
  const auth: Interceptor = (next) => (req) => {
    if (options.apiKey) req.header.set("authorization", `Bearer ${options.apiKey}`);
    return next(req);
  };
  const transport = createGrpcTransport({
    baseUrl: options.url,
    sessionManager,
    interceptors: [auth],
  });
  return {
    service: createClient(RebalancerService, transport),
    close: () => sessionManager.abort(),
  };
}
