import type { Broker } from "../broker/broker.js";
import { RunFailure } from "./run-failure.js";

/**
 * Waits for `work` unless the broker connection drops first, even briefly: then what the broker
 * did with the orders is uncertain, so the run must stop rather than go on to the next phase.
 * A drop is seen by polling, and a reconnect between two polls by the interruption count.
 */
export async function whileConnected<T>(
  broker: Broker,
  work: Promise<T>,
  lost: string,
  pollMs = 100,
): Promise<T> {
  const before = broker.health().interruptions;
  const check = () => {
    const health = broker.health();
    if (!health.connected || health.interruptions !== before) {
      throw new RunFailure("broker_unavailable", `${lost}: ${health.detail}`);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const dropped = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      try {
        check();
      } catch (err) {
        reject(err);
      }
    }, pollMs);
  });
  try {
    const result = await Promise.race([work, dropped]);
    check();
    return result;
  } finally {
    clearInterval(timer);
  }
}
