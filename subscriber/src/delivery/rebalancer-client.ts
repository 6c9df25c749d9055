import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { SecureContextOptions } from "node:tls";
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
  /**
   * Calls made from now on use this TLS material (a rotated CA or client certificate); calls in
   * flight finish on their connection, which closes once idle.
   */
  setTls(tls: SecureContextOptions): void;
  /** Closes the connections. */
  close(): void;
}

/** The wire protocol to the rebalancer. */
export type RebalancerProtocol = "grpc" | "connect";

/** Options of createRebalancerClient. */
export interface RebalancerClientOptions {
  /** Base URL of the rebalancer, e.g. http://127.0.0.1:8000 or https://rebalancer:8000. */
  url: string;
  /**
   * Sent as `Authorization: Bearer <key>`; unset sends none (auth off on the embedded default).
   * A function is asked on every call, so a key rotated on disk applies without a restart.
   */
  apiKey?: string | (() => string | undefined);
  /**
   * grpc (default): gRPC over HTTP/2. connect: the Connect protocol over HTTP/1.1, for proxies
   * and load balancers that do not pass HTTP/2 without TLS; streams work the same.
   */
  protocol?: RebalancerProtocol;
  /** Give up connecting after this long, ms; default 5000 (gRPC only). */
  connectTimeoutMs?: number;
  /** Run on every call after the credentials are set (tracing, metrics); default none. */
  interceptors?: Interceptor[];
  /**
   * For https:// URLs: `ca` to trust a private CA, `cert` and `key` to present a client
   * certificate (mTLS); default the system's CAs and no client certificate.
   */
  tls?: SecureContextOptions;
}

interface Connection {
  transport: Transport;
  close(): void;
}

/** A client of the rebalancer that consumes the Rebalance server stream as it runs. */
export function createRebalancerClient(options: RebalancerClientOptions): RebalancerClient {
  const auth: Interceptor = (next) => (req) => {
    const key = typeof options.apiKey === "function" ? options.apiKey() : options.apiKey;
    if (key) req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  const interceptors = [auth, ...(options.interceptors ?? [])];
  const secure = options.url.startsWith("https:");
  const connect = (tls: SecureContextOptions | undefined): Connection => {
    if (options.protocol === "connect") {
      // An agent of our own, so close() can end its kept-alive sockets.
      const agent = secure
        ? new HttpsAgent({ keepAlive: true, ...tls })
        : new HttpAgent({ keepAlive: true });
      return {
        transport: createConnectTransport({
          baseUrl: options.url,
          httpVersion: "1.1",
          nodeOptions: { agent },
          interceptors,
        }),
        close: () => agent.destroy(),
      };
    }
    const sessionManager = new Http2SessionManager(
      options.url,
      { connectTimeoutMs: options.connectTimeoutMs ?? 5000, idleConnectionTimeoutMs: 60_000 },
      secure ? { ...tls } : undefined,
    );
    return {
      transport: createGrpcTransport({ baseUrl: options.url, sessionManager, interceptors }),
      close: () => sessionManager.abort(),
    };
  };
  let current = connect(options.tls);
  // Connections replaced by setTls: left to finish their calls, closed on close().
  const retired: Connection[] = [];
  const transport: Transport = {
    unary: (...args) => current.transport.unary(...args),
    stream: (...args) => current.transport.stream(...args),
  };
  return {
    service: createClient(RebalancerService, transport),
    setTls(tls) {
      retired.push(current);
      current = connect(tls);
    },
    close() {
      current.close();
      for (const connection of retired.splice(0)) connection.close();
    },
  };
}
