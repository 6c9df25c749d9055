// What the REST routes of RebalancerService do beyond the generic JSON mapping, as the contract's
// comments describe: the seed's rebalance routes, GET /runs:watch as Server-Sent Events, and GET
// /health answering 503 when unhealthy.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
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
  WatchRunsResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { rebalanceResult } from "./rebalance-result.js";
import type { RestMethodAdapter } from "./rest-gateway.js";

/** The route that only plans, whatever the body says. */
export const dryRunTemplate = "/rebalance/{account_id}/dry-run";

/**
 * Mode spellings accepted on the REST routes besides the enum's own names: the seed's
 * `execution_mode` values and the short forms the README documents. Nothing else is guessed.
 */
const friendlyModes: Readonly<Record<string, string>> = {
  dry_run: "EXECUTION_MODE_DRY_RUN",
  live: "EXECUTION_MODE_LIVE",
  rebalance: "EXECUTION_MODE_LIVE",
};

const rebalance: RestMethodAdapter = {
  // The seed's body {"execution_mode": "dry_run" | "rebalance"} and the proto's own `mode`.
  prepareJson(json) {
    const { execution_mode: seedMode, ...rest } = json;
    const named = (field: string, value: unknown): string | undefined => {
      if (value === undefined || value === null) return undefined;
      if (typeof value === "string" && Object.hasOwn(friendlyModes, value)) {
        return friendlyModes[value];
      }
      if (field === "execution_mode") {
        throw new ConnectError(
          `execution_mode: must be "dry_run" or "rebalance", got ${JSON.stringify(value).slice(0, 40)}`,
          Code.InvalidArgument,
        );
      }
      return undefined;
    };
    const fromSeed = named("execution_mode", seedMode);
    const fromMode = named("mode", rest["mode"]);
    if (fromMode !== undefined) rest["mode"] = fromMode;
    if (fromSeed !== undefined) {
      if (rest["mode"] !== undefined && rest["mode"] !== null && rest["mode"] !== fromSeed) {
        throw new ConnectError(
          "execution_mode and mode disagree; send one of them",
          Code.InvalidArgument,
        );
      }
      rest["mode"] = fromSeed;
    }
    return rest;
  },
  // No body or no mode is a dry run, as in the seed's request model; POST
  // /rebalance/{account_id}/dry-run always plans only, whatever the body says.
  prepare(message, route) {
    const request = message as RebalanceRequest;
    if (route.path.template === dryRunTemplate || request.mode === ExecutionMode.UNSPECIFIED) {
      request.mode = ExecutionMode.DRY_RUN;
    }
    // Over REST the call reaches the service through an in-process Connect transport: name it.
    request.trigger ??= create(TriggerSchema);
    request.trigger.source ||= "rest";
  },
  collect: (request, responses) =>
    rebalanceResult(request as RebalanceRequest, responses as AsyncIterable<RebalanceResponse>),
};

// GET /runs:watch as Server-Sent Events; an EventSource resumes with Last-Event-ID on its own.
const watchRuns: RestMethodAdapter = {
  eventStream: {
    // A response without a run's event says where the watch stands (at its start, when quiet).
    event: (response) => ((response as WatchRunsResponse).event ? "run" : "position"),
    id: (response) => (response as WatchRunsResponse).resumeToken,
    resumeField: "resume_token",
  },
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
  [RebalancerService.method.watchRuns, watchRuns],
  [RebalancerService.method.getHealth, getHealth],
]);
