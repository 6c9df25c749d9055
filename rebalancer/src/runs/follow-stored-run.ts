import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunStore } from "./run-store.js";

const finalCases = new Set(["completed", "failed", "postponed"]);

/**
 * A run another replica runs, followed through the shared store: what its journal told so far,
 * then each new event as it is recorded (read again every `pollMs`), until its final event.
 * Through a takeover too: the replica that resumes it goes on with the same journal.
 */
export async function* followStoredRun(
  store: RunStore,
  runId: string,
  pollMs = 200,
): AsyncGenerator<RebalanceResponse> {
  let sent = 0;
  for (;;) {
    const responses = await store.responses(runId);
    for (; sent < responses.length; sent++) {
      const response = responses[sent]!;
      yield { ...response, replayed: true };
      if (finalCases.has(response.event.case ?? "")) return;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
