import type { JournalEvent } from "./recorded-event.js";

/** The fields of a journal event that hold a time (fill times, acceptance, next attempt). */
const dateFields = new Set(["time", "createdAt", "nextAttemptAt"]);

/** A journal event as stored: JSON, times as ISO 8601 text. */
export function encodeJournalEvent(event: JournalEvent): string {
  return JSON.stringify(event);
}

/** The journal event `encodeJournalEvent` stored, times as Dates again. */
export function decodeJournalEvent(text: string): JournalEvent {
  return JSON.parse(text, (key, value: unknown) =>
    dateFields.has(key) && typeof value === "string" ? new Date(value) : value,
  ) as JournalEvent;
}
