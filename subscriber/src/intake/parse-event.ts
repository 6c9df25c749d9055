/** What an event asks the rebalancer to do for each account on its channel. */
export type EventCommand =
  "rebalance" | "dry-run" | "print-positions" | "print-equity" | "print-orders" | "cancel-orders";

/** A payload understood: the command and, for the later form, the publisher's event id. */
export interface ParsedEvent {
  ok: true;
  command: EventCommand;
  /** `eventId` of the later form; undefined for the early form. */
  eventId?: string;
}

/** A payload refused, with a reason a human can act on. */
export interface RejectedEvent {
  ok: false;
  reason: string;
  /** The event id, when the payload had a usable one (so duplicates are still recognised). */
  eventId?: string;
}

const execCommands: Record<string, EventCommand> = {
  rebalance: "rebalance",
  "print-rebalance": "dry-run",
  "print-positions": "print-positions",
  "print-equity": "print-equity",
  "print-orders": "print-orders",
  "cancel-orders": "cancel-orders",
};

/** Fields each form may carry; anything else is refused with its name. */
const laterFields = new Set(["exec", "eventId"]);
const earlyFields = new Set(["execution", "eventId"]);

/** Names and values echoed in reasons are cut: a reason is stored and shown, junk is not. */
export function quoted(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/**
 * Reads a channel message's data in either form of domain.md: `{"execution": ...}` (early) or
 * `{"exec": ..., "eventId": ...}` (later). Data may arrive decoded or as JSON text. Decoding is
 * strict: an unknown or ill-typed field is refused with its name, so a misspelt field never
 * changes what runs. Only an exact `rebalance` ever becomes a live run.
 */
export function parseEvent(data: unknown): ParsedEvent | RejectedEvent {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, reason: "payload is not JSON" };
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "payload must be a JSON object" };
  }
  const payload = value as Record<string, unknown>;
  const rawId = payload.eventId;
  const eventId = typeof rawId === "string" && rawId.trim() !== "" ? rawId.trim() : undefined;
  if (rawId !== undefined && eventId === undefined) {
    return { ok: false, reason: "eventId must be a non-empty string" };
  }
  if (eventId !== undefined && eventId.length > 200) {
    return { ok: false, reason: "eventId is longer than 200 characters" };
  }
  const withId = eventId === undefined ? {} : { eventId };
  if ("exec" in payload && "execution" in payload) {
    return { ok: false, reason: "payload has both exec and execution; send one", ...withId };
  }
  const allowed = "exec" in payload ? laterFields : earlyFields;
  const unknown = Object.keys(payload).find((name) => !allowed.has(name));
  if (unknown !== undefined && ("exec" in payload || "execution" in payload)) {
    return { ok: false, reason: `unknown field ${quoted(unknown)}`, ...withId };
  }

  if ("exec" in payload) {
    const exec = payload.exec;
    if (typeof exec !== "string") return { ok: false, reason: "exec must be a string", ...withId };
    const command = Object.hasOwn(execCommands, exec) ? execCommands[exec] : undefined;
    if (!command) {
      const known = Object.keys(execCommands).join(", ");
      return {
        ok: false,
        reason: `unknown exec ${quoted(exec)}; expected one of ${known}`,
        ...withId,
      };
    }
    return { ok: true, command, ...withId };
  }
  if ("execution" in payload) {
    const execution = payload.execution;
    if (typeof execution !== "string") {
      return { ok: false, reason: "execution must be a string", ...withId };
    }
    // The early form ran a dry run for anything but "rebalance"; keep that, it never trades.
    return { ok: true, command: execution === "rebalance" ? "rebalance" : "dry-run", ...withId };
  }
  if (unknown !== undefined) {
    return {
      ok: false,
      reason: `payload has neither exec nor execution (unknown field ${quoted(unknown)})`,
      ...withId,
    };
  }
  return { ok: false, reason: "payload has neither exec nor execution", ...withId };
}
