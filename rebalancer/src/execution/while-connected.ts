import { FailureReason } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { Broker } from "../broker/broker.js";
import { RunFailure } from "./run-failure.js";

/**
 * Waits for `work` unless the broker connection drops first: then what the broker did with the
 * orders is uncertain, so the run must stop rather than go on to the next phase.
 */
export async function whileConnected<T>(
  broker: Broker,
  work: Promise<T>,
  lost: string,
  pollMs = 100,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const dropped = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const health = broker.health();
      if (!health.connected) {
        reject(new RunFailure(FailureReason.BROKER_UNAVAILABLE, `${lost}: ${health.detail}`));
      }
    }, pollMs);
  });
  try {
    return await Promise.race([work, dropped]);
  } finally {
    clearInterval(timer);
  }
}
