import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";

/** The oneof of a progress event, without its envelope (run id, sequence, time). */
export type RunEvent = RebalanceResponse["event"];

/** Records an event of the run; the recorder keeps the order of the calls. */
export type Emit = (event: RunEvent) => Promise<void>;
