import type { JournalEvent } from "./recorded-event.js";

/** The fields of a journal event that hold a time (fill times, acceptance, next attempt). */
const dateFields = new Set(["time", "createdAt", "nextAttemptAt"]);

/** A journal event as stored: JSON, times as ISO 8601 text, NaN and infinities kept. */
export function encodeJournalEvent(event: JournalEvent): string {
  return JSON.stringify(event, (_, value: unknown) =>
    typeof value === "number" && !Number.isFinite(value) ? { $number: String(value) } : value,
  );
}

/** The journal event `encodeJournalEvent` stored, times as Dates again. */
export function decodeJournalEvent(text: string): JournalEvent {
  return JSON.parse(text, (key, value: unknown) => {
    if (dateFields.has(key) && typeof value === "string") return new Date(value);
    if (typeof value === "object" && value !== null && "$number" in value) {
      return Number((value as { $number: string }).$number);
    }
    return value;
  }) as JournalEvent;
}
