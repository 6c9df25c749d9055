// The JSON of an answer on the REST routes: the proto3 JSON mapping with the proto's field names
// (account_id, as the seed's answers) and every field shown, and enum values as the seed's
// lower-case words (`completed`, `live`, `serving`) instead of the proto's full names
// (`RUN_STATUS_COMPLETED`), one convention across every REST route. gRPC and Connect keep the
// proto's names.
import {
  fromJson,
  toJson,
  type DescField,
  type DescMessage,
  type JsonValue,
  type Message,
  type MessageShape,
} from "@bufbuild/protobuf";

const jsonWriteOptions = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

/** A message as a REST route answers it. */
export function restResponseJson(schema: DescMessage, message: Message): JsonValue {
  const json = toJson(schema, message, jsonWriteOptions);
  renameEnums(schema, json, (field, name) => {
    const value = field.enum?.values.find((v) => v.name === name);
    return value === undefined ? name : value.localName.toLowerCase();
  });
  return json;
}

/** A REST route's answer read back as the message (for clients and tests). */
export function fromRestResponseJson<Desc extends DescMessage>(
  schema: Desc,
  json: JsonValue,
): MessageShape<Desc> {
  renameEnums(schema, json, (field, word) => {
    const value = field.enum?.values.find((v) => v.localName.toLowerCase() === word);
    return value === undefined ? word : value.name;
  });
  return fromJson(schema, json);
}

/** Replaces each enum value of the JSON (in place) by what `rename` makes of it. */
function renameEnums(
  schema: DescMessage,
  json: JsonValue,
  rename: (field: DescField, value: string) => string,
): void {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return;
  for (const field of schema.fields) {
    const value = json[field.name];
    if (value === undefined || value === null) continue;
    const word = (v: JsonValue) => (typeof v === "string" ? rename(field, v) : v);
    // Well-known types (Timestamp, ...) have their own JSON forms, which hold no enum.
    const nested = (v: JsonValue) =>
      field.message && !field.message.typeName.startsWith("google.protobuf.")
        ? renameEnums(field.message, v, rename)
        : undefined;
    switch (field.fieldKind) {
      case "enum":
        json[field.name] = word(value);
        break;
      case "message":
        nested(value);
        break;
      case "list":
        if (Array.isArray(value)) {
          if (field.listKind === "enum") json[field.name] = value.map(word);
          if (field.listKind === "message") value.forEach(nested);
        }
        break;
      case "map":
        if (typeof value === "object" && !Array.isArray(value)) {
          for (const key of Object.keys(value)) {
            if (field.mapKind === "enum") value[key] = word(value[key]!);
            if (field.mapKind === "message") nested(value[key]!);
          }
        }
        break;
    }
  }
}
