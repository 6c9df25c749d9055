import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { applyRunEvent, foldRun } from "./fold-run.js";
import { rebalanceResponse } from "./rebalance-response.js";
import type { RecordedEvent } from "./recorded-event.js";
import type { RunState } from "./run-state.js";

/**
 * Tells a run's journal events, given in order from its acceptance, as its Rebalance stream told
 * them live: the run's state folded as it goes, the stream's events numbered from 1.
 */
export class RunNarrator {
  private current: RunState | undefined;
  private told = 0;

  /** The run as of the last event told; undefined before its acceptance. */
  get state(): RunState | undefined {
    return this.current;
  }

  /** The stream event of `recorded`; undefined for events only the record keeps. */
  tell(recorded: RecordedEvent): RebalanceResponse | undefined {
    this.current = this.current ? applyRunEvent(this.current, recorded) : foldRun([recorded]);
    const response = rebalanceResponse(this.current, recorded, this.told + 1);
    if (response) this.told++;
    return response;
  }
}
