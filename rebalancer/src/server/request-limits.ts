// Bounds every request before it reaches the service, on every protocol (REST included, as it
// calls through the same router): oversize texts are refused without being echoed back, enum
// numbers the contract does not define are refused instead of being taken as a default, and
// fields the contract does not define (kept by the binary decoder as unknown fields, e.g. a
// misspelt idempotency key from a client built on another version) are refused, not ignored.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";

/** Options of createRequestLimits. */
export interface RequestLimitsOptions {
  /** Longest text accepted in any string field, in characters; default 256. */
  maxTextLength?: number;
}

/** An interceptor refusing oversize texts and undefined enum numbers as invalid_argument. */
export function createRequestLimits(options: RequestLimitsOptions = {}): Interceptor {
  const maxText = options.maxTextLength ?? 256;
  const check = (schema: DescMessage, message: Message): void =>
    checkMessage(schema, message, maxText, "");
  return (next) => async (req) => {
    if (!req.stream) {
      check(req.method.input, req.message);
      return next(req);
    }
    const messages = req.message;
    const schema = req.method.input;
    async function* checked() {
      for await (const message of messages) {
        check(schema, message);
        yield message;
      }
    }
    return next({ ...req, message: checked() });
  };
}

function checkMessage(schema: DescMessage, message: Message, maxText: number, prefix: string) {
  const unknown = (message as { $unknown?: { no: number }[] }).$unknown;
  if (unknown !== undefined && unknown.length > 0) {
    const where = prefix ? prefix.slice(0, -1) : schema.name;
    throw new ConnectError(
      `${where}: unknown field number ${unknown[0]!.no} (not in the contract)`,
      Code.InvalidArgument,
    );
  }
  const values = message as unknown as Record<string, unknown>;
  for (const field of schema.fields) {
    const name = prefix + field.name;
    const value = field.oneof
      ? (values[field.oneof.localName] as { case?: string; value?: unknown }).case ===
        field.localName
        ? (values[field.oneof.localName] as { value?: unknown }).value
        : undefined
      : values[field.localName];
    if (value === undefined) continue;
    switch (field.fieldKind) {
      case "scalar":
        checkText(name, value, maxText);
        break;
      case "enum":
        checkEnum(name, value, field.enum.values);
        break;
      case "message":
        checkMessage(field.message, value as Message, maxText, `${name}.`);
        break;
      case "list":
        for (const item of value as unknown[]) {
          if (field.listKind === "scalar") checkText(name, item, maxText);
          else if (field.listKind === "enum") checkEnum(name, item, field.enum.values);
          else checkMessage(field.message, item as Message, maxText, `${name}.`);
        }
        break;
      case "map":
        for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
          checkText(name, key, maxText);
          if (field.mapKind === "scalar") checkText(name, item, maxText);
          else if (field.mapKind === "enum") checkEnum(name, item, field.enum.values);
          else checkMessage(field.message, item as Message, maxText, `${name}.`);
        }
        break;
    }
  }
}

function checkText(name: string, value: unknown, maxText: number): void {
  if (typeof value === "string" && value.length > maxText) {
    throw new ConnectError(
      `${name}: at most ${maxText} characters, got ${value.length}`,
      Code.InvalidArgument,
    );
  }
}

function checkEnum(name: string, value: unknown, defined: readonly { number: number }[]): void {
  if (!defined.some((v) => v.number === value)) {
    throw new ConnectError(
      `${name}: ${String(value)} is not a defined value`,
      Code.InvalidArgument,
    );
  }
}
