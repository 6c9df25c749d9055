import { createHmac, timingSafeEqual } from "node:crypto";
import type { ChannelMessage } from "../intake/intake.js";

/** A webhook body read: its channel messages, or why it was refused (with the HTTP status). */
export type WebhookRead =
  | { ok: true; messages: ChannelMessage[]; junk: WebhookJunk[] }
  | { ok: false; status: number; reason: string };

/** An entry of a batch that is not a channel message: reported, never recorded. */
export interface WebhookJunk {
  /** Position in the batch: `items[2]` or `items[0].data.messages[1]`. */
  at: string;
  reason: string;
}

/**
 * Checks `X-Ably-Signature`: base64 HMAC-SHA256 of the raw body under the key's secret (the part
 * of `appId.keyId:secret` after the colon).
 */
export function verifyAblySignature(body: Buffer, signature: string | undefined, key: string) {
  if (!signature) return false;
  const secret = key.slice(key.indexOf(":") + 1);
  const expected = createHmac("sha256", secret).update(body).digest();
  const given = Buffer.from(signature, "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Reads an Ably enveloped webhook batch: `{items: [{source: "channel.message", data: {channelId,
 * messages: [...]}}]}`. Items of other sources (presence, lifecycle) are ignored; message data
 * is decoded per its `encoding` (json, base64, utf-8).
 */
export function readAblyWebhook(body: Buffer): WebhookRead {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { ok: false, status: 400, reason: "body is not JSON in UTF-8" };
  }
  const items = isObject(doc) ? doc.items : undefined;
  if (!Array.isArray(items)) {
    return { ok: false, status: 400, reason: "expected an enveloped batch with items[]" };
  }
  // One bad entry must not cost the batch: a 4xx or 5xx makes Ably resend it all, and the good
  // messages in it would never be recorded. Junk is reported in the answer instead.
  const messages: ChannelMessage[] = [];
  const junk: WebhookJunk[] = [];
  items.forEach((item: unknown, i) => {
    const at = `items[${i}]`;
    if (!isObject(item)) return junk.push({ at, reason: "not an object" });
    if (item.source !== "channel.message") return;
    const data = item.data;
    if (!isObject(data) || typeof data.channelId !== "string" || !Array.isArray(data.messages)) {
      return junk.push({ at, reason: "channel.message item without channelId/messages" });
    }
    const channelId = data.channelId;
    data.messages.forEach((raw: unknown, m) => {
      const where = `${at}.data.messages[${m}]`;
      if (!isObject(raw)) return junk.push({ at: where, reason: "not an object" });
      if (raw.id !== undefined && (typeof raw.id !== "string" || raw.id === "")) {
        return junk.push({ at: where, reason: "id must be a non-empty string" });
      }
      if (raw.encoding !== undefined && raw.encoding !== null && typeof raw.encoding !== "string") {
        return junk.push({ at: where, reason: "encoding must be a string" });
      }
      messages.push({
        channel: channelId,
        ...(typeof raw.id === "string" ? { messageId: raw.id } : {}),
        data: decode(raw.data, typeof raw.encoding === "string" ? raw.encoding : ""),
        ...(typeof raw.timestamp === "number" && Number.isFinite(raw.timestamp)
          ? { publishedAt: raw.timestamp }
          : {}),
        source: "webhook",
      });
    });
  });
  return { ok: true, messages, junk };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Undoes Ably's encoding chain, last step first; an unknown step leaves the data as it is. */
function decode(data: unknown, encoding: string): unknown {
  let value = data;
  for (const step of encoding.split("/").filter(Boolean).reverse()) {
    try {
      if (step === "base64" && typeof value === "string") value = Buffer.from(value, "base64");
      else if (step === "utf-8" && Buffer.isBuffer(value)) value = utf8.decode(value);
      else if (step === "json" && typeof value === "string") value = JSON.parse(value);
      else return asText(value);
    } catch {
      // Leave it undecoded: the payload parser rejects it with a reason.
      return asText(value);
    }
  }
  return asText(value);
}

/** Bytes left over become text; bytes that are not UTF-8 become base64, which is not JSON. */
function asText(value: unknown): unknown {
  if (!Buffer.isBuffer(value)) return value;
  try {
    return utf8.decode(value);
  } catch {
    return value.toString("base64");
  }
}
