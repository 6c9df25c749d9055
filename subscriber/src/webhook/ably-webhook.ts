import { createHmac, timingSafeEqual } from "node:crypto";
import type { ChannelMessage } from "../intake/intake.js";

/** A webhook body read: its channel messages, or why it was refused (with the HTTP status). */
export type WebhookRead =
  { ok: true; messages: ChannelMessage[] } | { ok: false; status: number; reason: string };

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
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, status: 400, reason: "body is not JSON" };
  }
  const items = (doc as { items?: unknown })?.items;
  if (!Array.isArray(items)) {
    return { ok: false, status: 400, reason: "expected an enveloped batch with items[]" };
  }
  const messages: ChannelMessage[] = [];
  for (const item of items as Record<string, unknown>[]) {
    if (item?.source !== "channel.message") continue;
    const data = item.data as { channelId?: unknown; messages?: unknown } | undefined;
    if (typeof data?.channelId !== "string" || !Array.isArray(data.messages)) {
      return { ok: false, status: 400, reason: "channel.message item without channelId/messages" };
    }
    for (const raw of data.messages as Record<string, unknown>[]) {
      messages.push({
        channel: data.channelId,
        ...(typeof raw.id === "string" ? { messageId: raw.id } : {}),
        data: decode(raw.data, typeof raw.encoding === "string" ? raw.encoding : ""),
        ...(typeof raw.timestamp === "number" ? { publishedAt: raw.timestamp } : {}),
        source: "webhook",
      });
    }
  }
  return { ok: true, messages };
}

/** Undoes Ably's encoding chain, last step first; an unknown step leaves the data as it is. */
function decode(data: unknown, encoding: string): unknown {
  let value = data;
  for (const step of encoding.split("/").filter(Boolean).reverse()) {
    try {
      if (step === "base64" && typeof value === "string") value = Buffer.from(value, "base64");
      else if (step === "utf-8" && Buffer.isBuffer(value)) value = value.toString("utf8");
      else if (step === "json" && typeof value === "string") value = JSON.parse(value);
      else return value;
    } catch {
      // Leave it undecoded: the payload parser rejects it with a reason.
      return value;
    }
  }
  return Buffer.isBuffer(value) ? value.toString("utf8") : value;
}
