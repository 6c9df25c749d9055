// The rebalancer's API on one port: RebalancerService over gRPC, gRPC-Web and Connect, its REST
// routes, grpc.health.v1, and server reflection, behind CORS and API-key authentication.
import type { DescMethod } from "@bufbuild/protobuf";
import { createConnectRouter, createRouterTransport } from "@connectrpc/connect";
import type {
  ConnectRouter,
  ConnectRouterOptions,
  Interceptor,
  ServiceImpl,
} from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { Health } from "@mesh/proto/health/v1/health";
import * as reflectionV1 from "@mesh/proto/grpc/reflection/v1/reflection";
import * as reflectionV1alpha from "@mesh/proto/grpc/reflection/v1alpha/reflection";
import { HealthStatus, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "@mesh/platform/logger";
import { callerContextValues, withRestCaller } from "./caller-identity.js";
import { createAuthGate } from "@mesh/platform/server/auth-gate";
import { createConnectRequestHandler } from "./connect-request-handler.js";
import { withCors } from "@mesh/platform/server/cors";
import { createDescriptorIndex } from "@mesh/platform/server/descriptor-index";
import { createHealthMonitor } from "./health-monitor.js";
import type { ComponentProbe } from "./health-report.js";
import { createHealthService } from "@mesh/platform/server/health-service";
import { createOnePortServer } from "@mesh/platform/server/one-port-server";
import type { ListeningAddress, OnePortTlsOptions } from "@mesh/platform/server/one-port-server";
import { createContractRules } from "@mesh/platform/server/contract-rules";
import { createEdgeRoundingInterceptor } from "./edge-rounding.js";
import { createRequestLimits } from "./request-limits.js";
import { rebalancerRestAdapters } from "./rebalancer-rest-adapters.js";
import { createReflectionServices } from "@mesh/platform/server/reflection-services";
import { createRestGateway } from "./rest-gateway.js";
import { createConsoleSettings } from "./console-settings.js";
import { createStaticFiles } from "./static-files.js";

/** A RebalancerService implementation; its GetHealth, if any, is replaced (see createApiServer). */
export type RebalancerImpl = Omit<ServiceImpl<typeof RebalancerService>, "getHealth"> &
  Partial<Pick<ServiceImpl<typeof RebalancerService>, "getHealth">>;

/** Options of createApiServer. */
export interface ApiServerOptions {
  /** The RebalancerService implementation. */
  service: RebalancerImpl;
  /** Component probes for grpc.health.v1, GetHealth and GET /health, e.g. the broker's. */
  components: readonly ComponentProbe[];
  /**
   * Accepted bearer keys (several during a rotation); empty turns authentication off. A function
   * is asked on every request (keys reloaded from a file).
   */
  apiKeys: readonly string[] | (() => readonly string[]);
  /** Let no-side-effect methods through without a key; default false. */
  openReads?: boolean;
  /** Origins allowed by CORS, "*" for any; default none. */
  corsOrigins?: readonly string[];
  /** Longest request body accepted, in bytes; default 1 MiB. */
  maxBodyBytes?: number;
  /** Logger for start-up and failures; default silent. */
  logger?: Logger;
  /** Extra Connect interceptors, run for every RPC of every protocol (REST included); default none. */
  interceptors?: readonly Interceptor[];
  /** How often component probes run while a health Watch is open; default 1000 ms. */
  healthPollMs?: number;
  /** Folder of the built web console, served without a key at /console/; default none. */
  consoleDir?: string;
  /**
   * The subscriber's URL as a browser reaches it: told to the console at
   * /console/settings.json, and allowed as a place its pages call; default none.
   */
  consoleSubscriberUrl?: string;
  /** Serve HTTPS (optionally requiring client certificates); default cleartext. */
  tls?: OnePortTlsOptions;
}

/** The running API. */
export interface ApiServer {
  /** Starts serving; resolves with the bound port and base URL. */
  listen(port: number, host: string): Promise<ListeningAddress>;
  /**
   * Graceful stop: health turns NOT_SERVING, health watches and reflection streams end, new
   * connections are refused, and requests in flight (running rebalances) get up to graceMs
   * (default 10 s) to finish before their connections are destroyed.
   */
  close(graceMs?: number): Promise<void>;
  /** Under TLS: the certificate and key new connections get (rotation without a restart). */
  setSecureContext(secureContext: SecureContextOptions): void;
}

/** Services answered without a key: probes and tools must reach them. */
const publicServices = [Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection];

/**
 * Builds the API server. GetHealth is always answered by the server itself, from the same
 * component probes as grpc.health.v1 and GET /health, so the three can never disagree; a
 * GetHealth in `service` is ignored.
 */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const logger = options.logger?.child({ component: "api-server" });
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const monitor = createHealthMonitor(options.components, { pollMs: options.healthPollMs });
  const stopping = new AbortController();

  const rebalancer = bindMethods(options.service);
  // Anyone may ask whether the service is up; what each component says (accounts, paths, URLs,
  // last errors) needs a key, as any other read does.
  const detailsGate = createAuthGate({ apiKeys: options.apiKeys });
  rebalancer.getHealth = async (_request, context) => {
    const report = await monitor.report();
    try {
      detailsGate(context);
      return report;
    } catch {
      return { ...report, components: report.components.map((c) => ({ ...c, detail: "" })) };
    }
  };
  const requestGate = createAuthGate({
    apiKeys: options.apiKeys,
    openReads: options.openReads,
    publicMethods: [RebalancerService.method.getHealth],
  });
  // No shutdownSignal: it would abort running rebalances instead of letting them finish.
  // Strict JSON on every protocol: connect-es ignores unknown fields (and so unknown enum
  // names, which would silently leave a mode unset) unless told otherwise.
  const routerOptions: ConnectRouterOptions = {
    interceptors: [
      ...(options.interceptors ?? []),
      createRequestLimits(),
      createContractRules(),
      // Innermost: every answer leaves with money and weights rounded as the contract says.
      createEdgeRoundingInterceptor(),
    ],
    jsonOptions: { ignoreUnknownFields: false },
  };
  const registerRebalancer = (router: ConnectRouter): void => {
    router.service(RebalancerService, rebalancer, { requestGate });
  };

  const reflection = createReflectionServices(
    createDescriptorIndex([RebalancerService, ...publicServices]),
    stopping.signal,
  );
  const router = createConnectRouter({
    ...routerOptions,
    acceptCompression: [compressionGzip, compressionBrotli],
    // Bounds what a compressed message may inflate to; raw bodies are limited before this.
    readMaxBytes: maxBodyBytes,
  });
  registerRebalancer(router);
  router.service(
    Health,
    createHealthService(
      monitor,
      [RebalancerService.typeName],
      (report) => report.status === HealthStatus.SERVING,
    ),
  );
  router.service(reflectionV1.ServerReflection, reflection.v1);
  router.service(reflectionV1alpha.ServerReflection, reflection.v1alpha);

  // REST calls go through an in-process router registered the same way: same gate, same
  // interceptors, same implementation, and errors arrive as ConnectErrors with their codes.
  const rest = createRestGateway({
    service: RebalancerService,
    transport: createRouterTransport(registerRebalancer, { router: routerOptions }),
    adapters: rebalancerRestAdapters,
    maxBodyBytes,
    logger,
    fallback:
      options.consoleDir === undefined
        ? undefined
        : createConsoleSettings(
            "/console/settings.json",
            options.consoleSubscriberUrl ? { subscriberUrl: options.consoleSubscriberUrl } : {},
            createStaticFiles({
              root: options.consoleDir,
              mountPath: "/console/",
              connectSources: options.consoleSubscriberUrl ? [options.consoleSubscriberUrl] : [],
            }),
          ),
  });
  const restMethods = rest.routes.map((route) => route.httpMethod);
  const handler = withCors(
    createConnectRequestHandler({
      router,
      maxBodyBytes,
      fallback: withRestCaller(rest),
      logger,
      contextValues: callerContextValues,
    }),
    {
      origins: options.corsOrigins ?? [],
      methods: [...new Set(["GET", "POST", ...restMethods])],
    },
  );
  const server = createOnePortServer(handler, { logger, tls: options.tls });
  const keysConfigured = (): boolean =>
    (typeof options.apiKeys === "function" ? options.apiKeys() : options.apiKeys).length > 0;

  return {
    async listen(port, host) {
      const address = await server.listen(port, host);
      logger?.info(
        {
          url: address.url,
          authentication: keysConfigured() ? "api keys" : "off",
          tls: options.tls
            ? options.tls.requireClientCertificate
              ? "client certificates required"
              : "on"
            : "off",
          openReads: options.openReads === true,
          restRoutes: rest.routes.length,
        },
        "serving gRPC, gRPC-Web, Connect and REST",
      );
      return address;
    },
    async close(graceMs) {
      logger?.info({ graceMs }, "stopping: finishing requests in flight");
      monitor.shutdown();
      stopping.abort();
      await server.close(graceMs);
      logger?.info("stopped");
    },
    setSecureContext: (secureContext) => server.setSecureContext(secureContext),
  };
}

/**
 * The implementation's methods as a plain object bound to it: the implementation may be a class
 * instance, whose methods a spread would lose.
 */
function bindMethods(service: RebalancerImpl): Partial<ServiceImpl<typeof RebalancerService>> {
  const source = service as unknown as Record<string, unknown>;
  const bound: Record<string, unknown> = {};
  for (const method of RebalancerService.methods as readonly DescMethod[]) {
    const impl = source[method.localName];
    if (typeof impl === "function") {
      bound[method.localName] = impl.bind(service);
    }
  }
  return bound as Partial<ServiceImpl<typeof RebalancerService>>;
}
