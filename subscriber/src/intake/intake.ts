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
import { parseEvent } from "../event/parse-event.js";
import type { EntrySource, Inbox, NewEntry } from "../inbox/inbox.js";
import type { SubscriberStatus } from "../status.js";
import { storeTraceContext } from "../telemetry/stored-trace-context.js";
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
  /** The de-duplication key used. */
  eventKey: string;
}

/** Options of createIntake. */
export interface IntakeOptions {
  inbox: Inbox;
  /** Accounts taking part (enabled, type matching TRADING_MODE). */
  accounts: Account[];
  status: SubscriberStatus;
  logger: Logger;
  /** Each message gets a `message received` span, the start of its trace. */
  tracer: Tracer;
  /** Counts messages received, rejected and duplicated; unset counts nothing. */
  metrics?: SubscriberMetrics;
  /** Called after new pending entries were recorded. */
  onRecorded(): void;
}

/** Turns messages into inbox entries: one per account on the channel, or one rejected. */
export interface Intake {
  /** Resolves once the entries are durable; only then may the source acknowledge. */
  receive(message: ChannelMessage): Promise<IntakeResult>;
  /** Channels with at least one account taking part. */
  channels(): string[];
}

/** Fans each channel message out to the accounts whose strategy it is. */
export function createIntake(options: IntakeOptions): Intake {
  const { inbox, status, logger, tracer, metrics } = options;
  const byChannel = new Map<string, Account[]>();
  for (const account of options.accounts) {
    const list = byChannel.get(account.strategy) ?? [];
    list.push(account);
    byChannel.set(account.strategy, list);
  }

  return {
    channels: () => [...byChannel.keys()],
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
    const base = {
      channel: message.channel,
      eventKey,
      messageId,
      eventId: parsed.eventId ?? "",
      source: message.source,
      payload: payloadText(message.data),
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
    status.lastEventAt[message.channel] = new Date(receivedAt).toISOString();
    let rejected: string | undefined;
    let entries: NewEntry[];
    if (!parsed.ok) rejected = parsed.reason;
    else if (accounts.length === 0) {
      rejected = `no enabled ${status.tradingMode} account has strategy "${message.channel}"`;
    }
    if (rejected !== undefined || !parsed.ok) {
      entries = [{ ...base, accountId: "", command: "", state: "rejected", reason: rejected! }];
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
    const added = await inbox.record(entries);
    const result: IntakeResult = {
      recorded: added.length,
      duplicates: entries.length - added.length,
      eventKey,
      ...(rejected === undefined ? {} : { rejected }),
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

/** Keeps the payload as JSON text; text that is not JSON is kept as a JSON string. */
function payloadText(data: unknown): string {
  if (typeof data === "string") return data;
  try {
    return JSON.stringify(data) ?? "null";
  } catch {
    return String(data);
  }
}
