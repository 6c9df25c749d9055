import fc from "fast-check";

/** What a rebalancer kill waits for: a sell or a buy working in a live run, or nothing. */
export type KillMoment = "mid-sell" | "mid-buy" | "any";

/** One planned SIGKILL. */
export interface PlannedKill {
  service: "rebalancer" | "subscriber";
  /** It comes once this many events were sent. */
  afterEvents: number;
  /** Then after this pause, ms. */
  delayMs: number;
  /** Then, for the rebalancer, at this moment (waited for a bounded time). */
  moment: KillMoment;
  /** How long the service stays down before it is started again, ms. */
  downMs: number;
}

/** Options of planKills. */
export interface KillScheduleOptions {
  seed: number;
  events: number;
  rebalancerKills: number;
  subscriberKills: number;
}

// Every third rebalancer kill waits for a working sell, every third for a working buy.
const moments: readonly KillMoment[] = ["mid-sell", "mid-buy", "any"];

/** The kills of a test, in the order they happen; the same options give the same schedule. */
export function planKills(options: KillScheduleOptions): PlannedKill[] {
  const kill = (service: PlannedKill["service"], index: number) =>
    fc.record({
      service: fc.constant(service),
      afterEvents: fc.integer({ min: 1, max: Math.max(1, options.events) }),
      delayMs: fc.integer({ min: 0, max: 1000 }),
      moment: fc.constant(service === "rebalancer" ? moments[index % moments.length]! : "any"),
      downMs: fc.integer({ min: 0, max: 1500 }),
    });
  const all = fc.tuple(
    ...Array.from({ length: options.rebalancerKills }, (_, i) => kill("rebalancer", i)),
    ...Array.from({ length: options.subscriberKills }, (_, i) => kill("subscriber", i)),
  );
  const [kills] = fc.sample(all, { seed: options.seed, numRuns: 1 });
  return [...(kills ?? [])].sort((a, b) => a.afterEvents - b.afterEvents);
}
