// proto/third_party/buf/validate/validate.proto is a hand-kept subset of protovalidate's rules,
// compiled with the contract while the generated code uses the full descriptors of
// @bufbuild/protovalidate. Options travel by field number, so every message, field, number and
// type of the subset must be the upstream's: this fails if the two drift apart.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FieldDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { expect } from "chai";

const root = fileURLToPath(new URL("../..", import.meta.url));
const buf = join(root, "node_modules/.bin/buf");

/** "name number label type typeName" for each field, the way both sides can be compared. */
const fieldLines = (fields: FieldDescriptorProto[]) =>
  fields.map((f) => `${f.name} ${f.number} ${f.label} ${f.type} ${f.typeName ?? ""}`);

describe("the subset of protovalidate's rules the contract compiles with", () => {
  it("has the upstream's names, numbers and types for every message, field and extension", () => {
    const image = execFileSync(buf, ["build", "proto/third_party", "-o", "-"], { cwd: root });
    const set = fromBinary(FileDescriptorSetSchema, image);
    const subset = set.file.find((f) => f.name === "buf/validate/validate.proto")!;
    const upstream = file_buf_validate_validate.proto;
    const byName = new Map<string, DescriptorProto>(upstream.messageType.map((m) => [m.name, m]));
    expect(subset.package).to.equal(upstream.package);
    for (const message of subset.messageType) {
      const theirs = byName.get(message.name);
      expect(theirs, message.name).to.not.equal(undefined);
      const theirLines = fieldLines(theirs!.field);
      for (const line of fieldLines(message.field)) {
        expect(theirLines, `buf.validate.${message.name}`).to.include(line);
      }
    }
    const upstreamExtensions = fieldLines(upstream.extension);
    for (const line of fieldLines(subset.extension)) {
      expect(upstreamExtensions).to.include(line);
    }
  });
});
