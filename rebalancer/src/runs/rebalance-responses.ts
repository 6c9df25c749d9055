import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RecordedEvent } from "./recorded-event.js";
import { RunNarrator } from "./run-narrator.js";

/** The Rebalance stream of a run as it was told live, rebuilt from its journal (for replays). */
export function rebalanceResponses(journal: readonly RecordedEvent[]): RebalanceResponse[] {
  const narrator = new RunNarrator();
  return journal.flatMap((recorded) => narrator.tell(recorded) ?? []);
}
