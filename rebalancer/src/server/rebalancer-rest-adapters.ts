// What the REST routes of RebalancerService do beyond the generic JSON mapping, as the contract's
// comments describe: the seed's rebalance routes, and GET /health answering 503 when unhealthy.
import { create } from "@bufbuild/protobuf";
import type { DescMethod, Message } from "@bufbuild/protobuf";
import {
  ExecutionMode,
  HealthStatus,
  RebalancerService,
  TriggerSchema,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type {
  GetHealthResponse,
  RebalanceRequest,
  RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { rebalanceResult } from "./rebalance-result.js";
import type { RestMethodAdapter } from "./rest-gateway.js";

/** The route that only plans, whatever the body says. */
export const dryRunTemplate = "/rebalance/{account_id}/dry-run";

const rebalance: RestMethodAdapter = {
  // POST /rebalance/{account_id} executes unless the body sets a mode (the seed's behaviour);
  // POST /rebalance/{account_id}/dry-run always plans only.
  prepare(message, route) {
    const request = message as RebalanceRequest;
    if (route.path.template === dryRunTemplate) {
      request.mode = ExecutionMode.DRY_RUN;
    } else if (request.mode === ExecutionMode.UNSPECIFIED) {
      request.mode = ExecutionMode.LIVE;
    }
    request.trigger ??= create(TriggerSchema, { source: "rest" });
  },
  collect: (request, responses) =>
    rebalanceResult(request as RebalanceRequest, responses as AsyncIterable<RebalanceResponse>),
};

const getHealth: RestMethodAdapter = {
  status: (response: Message) =>
    (response as GetHealthResponse).status === HealthStatus.SERVING ? 200 : 503,
};

/** The adapters of RebalancerService's REST routes. */
export const rebalancerRestAdapters: ReadonlyMap<DescMethod, RestMethodAdapter> = new Map<
  DescMethod,
  RestMethodAdapter
>([
  [RebalancerService.method.rebalance, rebalance],
  [RebalancerService.method.getHealth, getHealth],
]);
