import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";

/** A RebalancerService client and the connection behind it. */
export interface RebalancerClient {
  service: Client<typeof RebalancerService>;
  /** Closes the connections. */
  close(): void;
}

/** The wire protocol to the rebalancer. */
export type RebalancerProtocol = "grpc" | "connect";

/** Options of createRebalancerClient. */
export interface RebalancerClientOptions {
  /** Base URL of the rebalancer, e.g. http://127.0.0.1:8000. */
  url: string;
  /** Sent as `Authorization: Bearer <key>`; unset sends none (auth off on the embedded default). */
  apiKey?: string;
  /**
   * grpc (default): gRPC over HTTP/2. connect: the Connect protocol over HTTP/1.1, for proxies
   * and load balancers that do not pass HTTP/2 without TLS; streams work the same.
   */
  protocol?: RebalancerProtocol;
  /** Give up connecting after this long, ms; default 5000 (gRPC only). */
  connectTimeoutMs?: number;
  /** Run on every call after the credentials are set (tracing, metrics); default none. */
  interceptors?: Interceptor[];
}

/** A client of the rebalancer that consumes the Rebalance server stream as it runs. */
export function createRebalancerClient(options: RebalancerClientOptions): RebalancerClient {
  const auth: Interceptor = (next) => (req) => {
    if (options.apiKey) req.header.set("authorization", `Bearer ${options.apiKey}`);
    return next(req);
  };
  const interceptors = [auth, ...(options.interceptors ?? [])];
  let transport: Transport;
  let close: () => void;
  if (options.protocol === "connect") {
    // An agent of our own, so close() can end its kept-alive sockets.
    const agent = options.url.startsWith("https:")
      ? new HttpsAgent({ keepAlive: true })
      : new HttpAgent({ keepAlive: true });
    transport = createConnectTransport({
      baseUrl: options.url,
      httpVersion: "1.1",
      nodeOptions: { agent },
      interceptors,
    });
    close = () => agent.destroy();
  } else {
    const sessionManager = new Http2SessionManager(options.url, {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      idleConnectionTimeoutMs: 60_000,
    });
    transport = createGrpcTransport({ baseUrl: options.url, sessionManager, interceptors });
    close = () => sessionManager.abort();
  }
  return { service: createClient(RebalancerService, transport), close };
}
