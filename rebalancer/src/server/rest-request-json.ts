import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { fieldPath } from "./field-path.js";
import type { RestRoute } from "./rest-routes.js";

/**
 * The proto3 JSON of a route's request message, assembled as google.api.http specifies: the
 * body where the route puts it, then query parameters for the fields the body does not cover
 * (GET /accounts/DU1/runs?limit=5), then path variables, which win over both.
 */
export function restRequestJson(
  route: RestRoute,
  variables: ReadonlyMap<string, string>,
  query: URLSearchParams,
  body: JsonValue | undefined,
): JsonObject {
  const input = route.method.input;
  let request: JsonObject = {};
  if (route.body === "*") {
    if (body !== undefined && !isObject(body)) {
      throw invalid("the request body must be a JSON object");
    }
    request = body ?? {};
  } else if (route.body !== "" && body !== undefined) {
    setAt(request, fieldPath(input, route.body) ?? [], body);
  }
  if (route.body !== "*") {
    for (const [name, value] of query) {
      const fields = fieldPath(input, name);
      if (fields === undefined) {
        throw invalid(`unknown query parameter "${name}"`);
      }
      setAt(request, fields, fromText(fields, value, `query parameter "${name}"`));
    }
  }
  for (const [name, value] of variables) {
    const fields = fieldPath(input, name) ?? [];
    const given = valueAt(request, fields);
    // A body that names another value (or a wrong type) for a path field is a mistake to report,
    // not something to overwrite silently.
    if (given !== undefined && given !== value) {
      throw invalid(`${name}: the body's value does not match the path's`);
    }
    setAt(request, fields, fromText(fields, value, `path segment "${shortText(value)}"`));
  }
  return request;
}

/** What the request holds at a field path under either of its names, if anything. */
function valueAt(target: JsonObject, fields: readonly DescField[]): JsonValue | undefined {
  let value: JsonValue | undefined = target;
  for (const field of fields) {
    if (!isObject(value)) return undefined;
    value = value[field.name] ?? value[field.jsonName];
  }
  return value;
}

/** A client's text short enough to quote back in an error. */
export function shortText(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** A text value (from a path or query) as the JSON its field accepts. */
function fromText(fields: readonly DescField[], text: string, what: string): JsonValue {
  const field = fields[fields.length - 1];
  if (field === undefined) {
    throw invalid(`${what} names no field`);
  }
  const type = scalarOrEnum(field);
  if (type === "enum") {
    if (/^-?\d+$/.test(text)) return Number(text);
    // The REST routes' own spelling (`view=full`), as their answers write enum values, or the
    // proto's name (`view=RUN_VIEW_FULL`).
    const values = field.enum?.values ?? [];
    const value = values.find((v) => v.name === text || v.localName.toLowerCase() === text);
    if (value === undefined) {
      const words = values.filter((v) => v.number !== 0).map((v) => v.localName.toLowerCase());
      throw invalid(`${what} is not a ${field.name}: use ${words.join(", ")}`);
    }
    return value.name;
  }
  if (type === undefined) {
    throw invalid(`${what} cannot set ${field.name}, which is not a scalar field`);
  }
  if (type === ScalarType.BOOL) {
    if (text !== "true" && text !== "false") {
      throw invalid(`${what} must be true or false for ${field.name}`);
    }
    return text === "true";
  }
  // Numbers stay text: proto3 JSON accepts them quoted, and decoding checks them. So do
  // well-known types written as text (Timestamp, Duration, wrappers).
  return text;
}

/** The field's scalar type, "enum", or undefined for maps and messages other than well-known. */
function scalarOrEnum(field: DescField): ScalarType | "enum" | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar;
    case "enum":
      return "enum";
    case "message":
      return wellKnown(field.message.typeName);
    case "list":
      switch (field.listKind) {
        case "scalar":
          return field.scalar;
        case "enum":
          return "enum";
        case "message":
          return wellKnown(field.message.typeName);
      }
      return undefined;
    default:
      return undefined;
  }
}

function wellKnown(typeName: string): ScalarType | undefined {
  return typeName.startsWith("google.protobuf.") ? ScalarType.STRING : undefined;
}

/**
 * Sets a value at a field path, under the proto names, replacing what is there under either
 * name; a repeated field collects every value given for it.
 */
function setAt(target: JsonObject, fields: readonly DescField[], value: JsonValue): void {
  let object = target;
  fields.forEach((field, i) => {
    const existing = object[field.name] ?? object[field.jsonName];
    delete object[field.jsonName];
    if (i < fields.length - 1) {
      object = object[field.name] = isObject(existing) ? existing : {};
      return;
    }
    if (field.fieldKind === "list" && !Array.isArray(value)) {
      object[field.name] = [...(Array.isArray(existing) ? existing : []), value];
    } else {
      object[field.name] = value;
    }
  });
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
