// The subscriber's RPCs on its HTTP port: SubscriberService, grpc.health.v1 and server reflection,
// over gRPC, gRPC-Web and Connect, behind CORS; requests that name no RPC go to the ingress.
import { createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health } from "@mesh/proto/health/v1/health";
import * as reflectionV1 from "@mesh/proto/grpc/reflection/v1/reflection";
import * as reflectionV1alpha from "@mesh/proto/grpc/reflection/v1alpha/reflection";
import { SubscriberService } from "@mesh/proto/subscriber/v1/subscriber";
import type { Logger } from "@mesh/platform/logger";
import { createContractRules } from "@mesh/platform/server/contract-rules";
import { withCors } from "@mesh/platform/server/cors";
import { createDescriptorIndex } from "@mesh/platform/server/descriptor-index";
import { createHealthService } from "@mesh/platform/server/health-service";
import type { NodeRequest, NodeRequestHandler } from "@mesh/platform/server/node-request-handler";
import { createReflectionServices } from "@mesh/platform/server/reflection-services";
import type { HealthReport } from "../health/health-report.js";
import { createHealthSource } from "../health/health-source.js";
import type { Inbox } from "../inbox/inbox.js";
import { createOperatorGate, loopbackCallerKey } from "./operator-gate.js";
import { createSubscriberService } from "./subscriber-service.js";

/** Options of createSubscriberRpc. */
export interface SubscriberRpcOptions {
  /** The inbox SubscriberService shows and acts on; required. */
  inbox: Inbox;
  /** The subscriber's health (GET /health's report): SERVING unless failing; required. */
  health(): Promise<HealthReport>;
  /**
   * Bearer keys SubscriberService accepts; empty: callers on this host only. Health and
   * reflection need none. A function is asked on every request.
   */
  apiKeys: readonly string[] | (() => readonly string[]);
  /** Origins a browser may call from (the console's), "*" for any; default none. */
  corsOrigins?: readonly string[];
  /** Called after a re-drive (wakes the dispatcher); default none. */
  onRedriven?: () => void;
  /** Connect interceptors on every RPC (tracing, metrics); default none. */
  interceptors?: readonly Interceptor[];
  /** How often health is polled while a Watch is open, ms; default 1000. */
  healthPollMs?: number;
  /** Told of every re-drive, discard and gap acknowledgement; default none. */
  logger?: Logger;
}

/** The RPC layer in front of the ingress. */
export interface SubscriberRpc {
  /** Serves the RPCs and hands every other request to `ingress`. */
  handler(ingress: NodeRequestHandler): NodeRequestHandler;
  /** Health turns NOT_SERVING, health watches and reflection streams end. */
  shutdown(): void;
}

/** Builds the subscriber's RPC layer; see SubscriberRpcOptions. */
export function createSubscriberRpc(options: SubscriberRpcOptions): SubscriberRpc {
  const health = createHealthSource({ report: options.health, pollMs: options.healthPollMs });
  const stopping = new AbortController();
  const reflection = createReflectionServices(
    createDescriptorIndex([
      SubscriberService,
      Health,
      reflectionV1.ServerReflection,
      reflectionV1alpha.ServerReflection,
    ]),
    stopping.signal,
  );
  const service = createSubscriberService({
    inbox: options.inbox,
    onRedriven: options.onRedriven,
    logger: options.logger,
  });
  const requestGate = createOperatorGate(options.apiKeys);
  return {
    handler: (ingress) =>
      withCors(
        connectNodeAdapter({
          routes: (router) => {
            router.service(SubscriberService, service, { requestGate });
            // Degraded still takes events in (GET /health answers 200): only failing is down.
            router.service(
              Health,
              createHealthService(
                health,
                [SubscriberService.typeName],
                (report) => report.status !== "failing",
              ),
            );
            router.service(reflectionV1.ServerReflection, reflection.v1);
            router.service(reflectionV1alpha.ServerReflection, reflection.v1alpha);
          },
          interceptors: [...(options.interceptors ?? []), createContractRules()],
          jsonOptions: { ignoreUnknownFields: false },
          // connect-node types Node's response with its own write() signature: the same object.
          fallback: ingress as Parameters<typeof connectNodeAdapter>[0]["fallback"],
          contextValues: (req) => createContextValues().set(loopbackCallerKey, isLoopback(req)),
        }) as NodeRequestHandler,
        { origins: options.corsOrigins ?? [] },
      ),
    shutdown: () => {
      health.shutdown();
      stopping.abort();
    },
  };
}

function isLoopback(req: NodeRequest): boolean {
  const address = req.socket?.remoteAddress ?? "";
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}
