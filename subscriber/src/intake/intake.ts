import { randomUUID } from "node:crypto";
import type { Account } from "@mesh/platform/accounts";
import { withActiveSpan } from "@mesh/platform/active-span";
import type { Logger } from "@mesh/platform/logger";
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { keyFits, maxIdempotencyKeyLength } from "../delivery/idempotency-key.js";
import { parseEvent, quoted } from "./parse-event.js";
import type { EntrySource, Inbox, NewEntry } from "../inbox/inbox.js";
import type { IntakeStatus } from "../status.js";
import { storeTraceContext } from "@mesh/platform/stored-trace-context";
import type { SubscriberMetrics } from "../telemetry/subscriber-metrics.js";

/** A message from any source, before it is recorded. */
export interface ChannelMessage {
  channel: string;
  /** Ably message id; unset for plain HTTP events without one (they get a fresh id). */
  messageId?: string;
  /** The message data, decoded or JSON text. */
  data: unknown;
  /** Ably's timestamp, ms since the epoch; default: now. */
  publishedAt?: number;
  source: EntrySource;
}

/** What happened to a message. */
export interface IntakeResult {
  /** Entries newly recorded (pending ones, one per account, or one rejected). */
  recorded: number;
  /** Accounts for which the message had been recorded before. */
  duplicates: number;
  /** Why the message was rejected, when it was. */
  rejected?: string;
  /**
   * Set when the message's event id was recorded before with another command: nothing of it
   * runs (the first command stands) and the conflict is recorded as a rejected entry.
   */
  conflict?: string;
  /** The de-duplication key used. */
  eventKey: string;
}

/** Options of createIntake. */
export interface IntakeOptions {
  /** Where each message is recorded before it is acknowledged; required, no default. */
  inbox: Inbox;
  /** Accounts taking part (enabled, type matching TRADING_MODE); required, may be empty. */
  accounts: Account[];
  /** TRADING_MODE, named when a channel has no account taking part; required, no default. */
  tradingMode: string;
  /** Receives one line per message recorded, rejected or duplicated; required, no default. */
  logger: Logger;
  /** Each message gets a `message received` span, the start of its trace; required. */
  tracer: Tracer;
  /** Counts messages received, rejected and duplicated; default none (nothing is counted). */
  metrics?: SubscriberMetrics;
  /** Called after new pending entries were recorded (wakes the dispatcher); required. */
  onRecorded(): void;
}

/** Turns messages into inbox entries: one per account on the channel, or one rejected. */
export interface Intake {
  /** Resolves once the entries are durable; only then may the source acknowledge. */
  receive(message: ChannelMessage): Promise<IntakeResult>;
  /** Channels with at least one account taking part. */
  channels(): string[];
  /** A snapshot of what arrived: last message per channel, event id conflicts. */
  status(): IntakeStatus;
}

/** Fans each channel message out to the accounts whose strategy it is. */
export function createIntake(options: IntakeOptions): Intake {
  const { inbox, tradingMode, logger, tracer, metrics } = options;
  const status: IntakeStatus = { lastEventAt: {}, eventConflicts: 0 };
  const byChannel = new Map<string, Account[]>();
  for (const account of options.accounts) {
    const list = byChannel.get(account.strategy) ?? [];
    list.push(account);
    byChannel.set(account.strategy, list);
  }

  return {
    channels: () => [...byChannel.keys()],
    status: () => ({ ...status, lastEventAt: { ...status.lastEventAt } }),
    // The span ends before the caller acknowledges: it is exported even if we die next.
    receive: (message) =>
      withActiveSpan(
        tracer,
        "message received",
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            "messaging.destination.name": message.channel,
            "event.source": message.source,
          },
        },
        (span) => record(message, span),
      ),
  };

  async function record(message: ChannelMessage, span: Span): Promise<IntakeResult> {
    const receivedAt = Date.now();
    const messageId = message.messageId ?? `${message.source}:${randomUUID()}`;
    const parsed = parseEvent(message.data);
    const eventKey = parsed.eventId ?? messageId;
    const accounts = byChannel.get(message.channel) ?? [];
    const known = accounts.length > 0;
    const base = {
      // Junk is kept for diagnosis, but only its start: an attacker cannot grow the inbox.
      channel: known ? message.channel : truncate(message.channel, 200),
      eventKey,
      messageId,
      eventId: parsed.eventId ?? "",
      source: message.source,
      payload: payloadText(message.data),
      // Unknown channels get no status entry: /status must not list every name ever posted.
      publishedAt: message.publishedAt ?? receivedAt,
      receivedAt,
      // Deliveries happen later, maybe after a restart: they continue this span's trace.
      ...storeTraceContext(trace.setSpan(context.active(), span)),
    };
    span.setAttributes({
      "messaging.message.id": messageId,
      "event.id": base.eventId,
      "event.key": eventKey,
      "account.ids": accounts.map((a) => a.accountId),
    });
    if (known) status.lastEventAt[message.channel] = new Date(receivedAt).toISOString();
    let rejected: string | undefined;
    let entries: NewEntry[];
    if (!parsed.ok) rejected = parsed.reason;
    else if (!known) {
      rejected = `no enabled ${tradingMode} account has strategy ${quoted(message.channel)}`;
    } else if (!accounts.every((a) => keyFits(eventKey, a.accountId))) {
      rejected =
        `event key is ${eventKey.length} characters: with the account id its idempotency key ` +
        `would exceed ${maxIdempotencyKeyLength}; use a shorter eventId`;
    }
    if (rejected !== undefined || !parsed.ok) {
      entries = [rejectedEntry(base, rejected!)];
    } else {
      const command = parsed.command;
      entries = accounts.map((a) => ({
        ...base,
        accountId: a.accountId,
        command,
        state: "pending",
        reason: "",
      }));
    }
    const firstAdded = await inbox.record(entries);
    let added = firstAdded;
    let conflict: string | undefined;
    if (rejected === undefined && parsed.ok && added.length < entries.length) {
      // The first command recorded for an event id stands; another one under the same id is a
      // publisher's mistake to surface, not a duplicate to swallow (it may be the live one).
      const command = parsed.command;
      const firsts = await Promise.all(
        entries
          .filter((e) => !firstAdded.some((a) => a.accountId === e.accountId))
          .map((e) => inbox.find(e.accountId, eventKey)),
      );
      const other = firsts.find((e) => e !== undefined && e.command !== command);
      if (other) {
        conflict =
          `eventId ${quoted(eventKey)} was recorded with command ${other.command} ` +
          `(entry ${other.id}); this message asks for ${command}: refused, nothing of it runs`;
        rejected = conflict;
        const recorded = await inbox.record([
          rejectedEntry({ ...base, eventKey: `conflict:${truncate(messageId, 180)}` }, conflict),
        ]);
        if (recorded.length > 0) {
          status.eventConflicts += 1;
          logger.warn(
            { channel: message.channel, messageId, eventKey, first: other.id, command },
            "event id conflict recorded",
          );
        }
        added = [...added, ...recorded];
      }
    }
    const result: IntakeResult = {
      recorded: added.length,
      duplicates: entries.length - firstAdded.length,
      eventKey,
      ...(rejected === undefined ? {} : { rejected }),
      ...(conflict === undefined ? {} : { conflict }),
    };
    span.setAttributes({
      "event.recorded": result.recorded,
      "event.duplicates": result.duplicates,
    });
    // A payload that will never run is the event's failure: shown red in the trace view.
    if (rejected !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: rejected });
    metrics?.messageReceived(message, {
      rejected: rejected !== undefined,
      duplicate: added.length === 0,
    });
    const fields = { channel: message.channel, source: message.source, messageId, eventKey };
    if (rejected !== undefined && added.length > 0) {
      logger.warn({ ...fields, reason: rejected }, "message rejected and recorded");
    } else if (added.length > 0) {
      logger.info({ ...fields, accounts: added.map((e) => e.accountId) }, "message recorded");
      options.onRecorded();
    } else {
      logger.debug(fields, "duplicate message ignored");
    }
    return result;
  }
}

/** Payload kept of a rejected message, bytes; the rest is cut. */
const rejectedPayloadBytes = 4096;

/** A rejected entry: no account, no command, its payload cut to its first 4 kB. */
function rejectedEntry(
  base: Omit<NewEntry, "accountId" | "command" | "state" | "reason">,
  reason: string,
): NewEntry {
  const payload = Buffer.from(base.payload, "utf8");
  return {
    ...base,
    eventKey: truncate(base.eventKey, 200),
    messageId: truncate(base.messageId, 200),
    payload:
      payload.length > rejectedPayloadBytes
        ? `${payload.subarray(0, rejectedPayloadBytes).toString("utf8")}… (${payload.length} bytes)`
        : base.payload,
    accountId: "",
    command: "",
    state: "rejected",
    reason,
  };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Keeps the payload as JSON text; text that is not JSON is kept as a JSON string. */
function payloadText(data: unknown): string {
  if (typeof data === "string") return data;
  try {
    return JSON.stringify(data) ?? "null";
  } catch {
    return String(data);
  }
}
