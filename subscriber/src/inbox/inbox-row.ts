import { entryStates, type EntryState, type InboxEntry } from "./inbox.js";

/** An inbox row as both stores keep it: the same columns in SQLite and PostgreSQL. */
export interface InboxRow {
  id: number;
  account_id: string;
  channel: string;
  event_key: string;
  message_id: string;
  event_id: string;
  source: InboxEntry["source"];
  command: InboxEntry["command"];
  payload: string;
  state: EntryState;
  reason: string;
  attempts: number;
  generation: number;
  published_at: number;
  received_at: number;
  age_from: number;
  next_attempt_at: number;
  updated_at: number;
  run_id: string;
  result: string;
  traceparent: string;
  tracestate: string;
}

/** Every column of InboxRow, in table order: what a copy between the stores moves. */
export const inboxColumns = [
  "id",
  "account_id",
  "channel",
  "event_key",
  "message_id",
  "event_id",
  "source",
  "command",
  "payload",
  "state",
  "reason",
  "attempts",
  "generation",
  "published_at",
  "received_at",
  "age_from",
  "next_attempt_at",
  "updated_at",
  "run_id",
  "result",
  "traceparent",
  "tracestate",
] as const satisfies readonly (keyof InboxRow)[];

/** The entry a row holds. */
export function toEntry(row: InboxRow): InboxEntry {
  return {
    id: row.id,
    accountId: row.account_id,
    channel: row.channel,
    eventKey: row.event_key,
    messageId: row.message_id,
    eventId: row.event_id,
    source: row.source,
    command: row.command,
    payload: row.payload,
    state: row.state,
    reason: row.reason,
    attempts: row.attempts,
    generation: row.generation,
    publishedAt: row.published_at,
    receivedAt: row.received_at,
    ageFrom: row.age_from,
    nextAttemptAt: row.next_attempt_at,
    updatedAt: row.updated_at,
    runId: row.run_id,
    result: row.result,
    traceparent: row.traceparent,
    tracestate: row.tracestate,
  };
}

/** Entries by state, every state present, from `state, n` rows of a GROUP BY. */
export function countByState(rows: { state: EntryState; n: number }[]): Record<EntryState, number> {
  const counts = Object.fromEntries(entryStates.map((s) => [s, 0])) as Record<EntryState, number>;
  for (const row of rows) counts[row.state] = row.n;
  return counts;
}
