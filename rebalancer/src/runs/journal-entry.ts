import type { RecordedEvent } from "./recorded-event.js";

/** An event of some run's journal at its place in the one order of every run's events. */
export interface JournalEntry {
  /**
   * Where the event stands among the events of every run: increasing in the order they were
   * recorded, from 1, never reused. What a watcher's resume token names.
   */
  position: number;
  recorded: RecordedEvent;
}
