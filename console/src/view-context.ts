import type { WithApiKey } from "./api-key-gate.js";
import type { RebalancerClient } from "./rebalancer-client.js";

/** What every page gets. */
export interface ViewContext {
  /** The generated client. */
  client: RebalancerClient;
  /** Wraps calls that may need the API key. */
  withApiKey: WithApiKey;
  /** Base URL of the API, for messages. */
  apiUrl: string;
  /** Aborted when the person leaves the page: pass it to calls. */
  signal: AbortSignal;
}
