import type { DescField, DescMessage } from "@bufbuild/protobuf";

/**
 * The fields along a dotted path such as "trigger.source", named by proto or JSON name; undefined
 * when a name is unknown or a field before the last is not a singular message.
 */
export function fieldPath(message: DescMessage, path: string): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path.split(".")) {
    const field: DescField | undefined = current?.fields.find(
      (f) => f.name === name || f.jsonName === name,
    );
    if (field === undefined) {
      return undefined;
    }
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}
