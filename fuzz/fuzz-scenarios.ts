// Fixed scenarios run between the generated chunks: bad input that needs more than one request.
import type { FuzzRequest } from "./fuzz-request.js";

/** A step: its requests are sent at once; steps run one after the other. */
export type ScenarioStep = FuzzRequest[];

/**
 * The scenarios of round `n`:
 * - the same eventId as a dry run and then as a live rebalance on the subscriber's ingress (the
 *   second must be refused, 409, and never run);
 * - the key of a finished dry run repeated 20 times at once over one HTTP/2 connection (Connect
 *   streaming), with a different key in the same batch: every one must be answered.
 */
export function fuzzScenarios(
  accountId: string,
  channel: string,
  seed: number,
  n: number,
): ScenarioStep[][] {
  const eventId = `conflict-${seed}-${n}`;
  const event = (exec: string): FuzzRequest => ({
    service: "subscriber",
    protocol: "ingress",
    http2: false,
    method: "POST",
    path: `/events/${channel}`,
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify({ exec, eventId })),
    mutation: `scenario: eventId ${eventId} as ${exec}`,
  });
  const dryRun = (key: string): FuzzRequest => {
    const message = Buffer.from(
      JSON.stringify({
        accountId,
        mode: "EXECUTION_MODE_DRY_RUN",
        idempotencyKey: key,
        waitIfBusy: true,
      }),
    );
    const head = Buffer.alloc(5);
    head.writeUInt32BE(message.length, 1);
    return {
      service: "rebalancer",
      protocol: "connect-json",
      http2: true,
      method: "POST",
      path: "/rebalancer.v1.RebalancerService/Rebalance",
      headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" },
      body: Buffer.concat([head, message]),
      mutation: `scenario: repeated key ${key}`,
    };
  };
  const key = `burst-${seed}-${n}`;
  return [
    [[event("print-rebalance")], [event("rebalance")]],
    [[dryRun(key)], [...Array.from({ length: 20 }, () => dryRun(key)), dryRun(`${key}-other`)]],
  ];
}
