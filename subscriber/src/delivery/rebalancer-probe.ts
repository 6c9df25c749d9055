import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { describeFailure } from "./classify-failure.js";
import type { RebalancerReachability } from "./rebalancer-reachability.js";

/** Options of createRebalancerProbe. */
export interface RebalancerProbeOptions {
  /** The client deliveries use (same key, same TLS); required, no default. */
  client: Client<typeof RebalancerService>;
  /** Told what the probe found; required, no default. */
  reachability: RebalancerReachability;
  /** Asks at most this often, ms; default 5000. */
  intervalMs?: number;
  /** Deadline of one probe, ms; default 1000 (health and /status stay fast). */
  timeoutMs?: number;
}

/** Codes that refuse the caller rather than the request. */
const refusals = new Set<Code>([Code.Unauthenticated, Code.PermissionDenied]);
/** Codes meaning no answer came. */
const silences = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Canceled]);

/**
 * Asks the rebalancer whether it answers and accepts the subscriber's key: ListAccounts needs
 * the key (unlike GetHealth) and has no side effects. Deliveries alone leave reachability unknown
 * while the inbox is idle.
 */
export function createRebalancerProbe(options: RebalancerProbeOptions): () => Promise<void> {
  const intervalMs = options.intervalMs ?? 5000;
  let probedAt = 0;
  return async () => {
    if (Date.now() - probedAt < intervalMs) return;
    probedAt = Date.now();
    try {
      await options.client.listAccounts({}, { timeoutMs: options.timeoutMs ?? 1000 });
      options.reachability.reached("probe");
    } catch (err) {
      const code = err instanceof ConnectError ? err.code : Code.Unknown;
      if (refusals.has(code)) options.reachability.refused(describeFailure(err), "probe");
      else if (err instanceof ConnectError && !silences.has(code)) {
        // An answer all the same (e.g. an older rebalancer without the method).
        options.reachability.reached("probe");
      } else options.reachability.unreachable(describeFailure(err));
    }
  };
}
