import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { applyRunEvent, foldRun } from "./fold-run.js";
import { rebalanceResponse } from "./rebalance-response.js";
import type { RecordedEvent } from "./recorded-event.js";

/** The Rebalance stream of a run as it was told live, rebuilt from its journal (for replays). */
export function rebalanceResponses(journal: readonly RecordedEvent[]): RebalanceResponse[] {
  if (journal.length === 0) return [];
  const state = foldRun(journal.slice(0, 1));
  const responses: RebalanceResponse[] = [];
  journal.forEach((recorded, i) => {
    if (i > 0) applyRunEvent(state, recorded);
    const response = rebalanceResponse(state, recorded, responses.length + 1);
    if (response) responses.push(response);
  });
  return responses;
}
