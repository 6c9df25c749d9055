import type { BrokerOrder } from "../broker/broker.js";
import type { RunPhase } from "./run-phase.js";

/**
 * Why a run had stopped before it was resumed: its process stopped without a word (killed,
 * crashed), its process handed it over at a shutdown, or its broker link was lost and came back.
 */
export type ResumeCause = "process_stopped" | "handed_over" | "broker_reconnected";

/** What a resumed run found, as its `resumed` event tells it. */
export interface RunResumption {
  cause: ResumeCause;
  /** The phase the run was in when it stopped; absent when it had not started one. */
  phase?: RunPhase;
  /** Every order of the run the broker knows (by order reference), at its state now. */
  orders: BrokerOrder[];
  /** Ids of the orders the broker had and the record lacked, now adopted as the run's own. */
  adoptedOrderIds: string[];
  /** Fills the record lacked, now recorded. */
  fillsRecovered: number;
  /** What the run does next, or why it ends, for humans. */
  message: string;
}
