import type { RunEvent } from "../execution/run-event.js";
import type { RunHeader } from "./run-header.js";

/**
 * What a run's journal holds: the run's acceptance first, then what execution told; and, from
 * the coordinator, `suspended` when a stopping process handed the run over (the run is then
 * resumed from its journal by the next start or another replica).
 */
export type JournalEvent =
  { kind: "accepted"; header: RunHeader } | { kind: "suspended"; message: string } | RunEvent;

/** One entry of a run's journal. */
export interface RecordedEvent {
  runId: string;
  /** Position in the run's journal, from 1 (the acceptance). */
  sequence: number;
  /** When it was recorded. */
  time: Date;
  event: JournalEvent;
}
