import type { RunEvent } from "../execution/run-event.js";
import type { RunHeader } from "./run-header.js";

/** What a run's journal holds: the run's acceptance first, then what execution told. */
export type JournalEvent = { kind: "accepted"; header: RunHeader } | RunEvent;

/** One entry of a run's journal. */
export interface RecordedEvent {
  runId: string;
  /** Position in the run's journal, from 1 (the acceptance). */
  sequence: number;
  /** When it was recorded. */
  time: Date;
  event: JournalEvent;
}
