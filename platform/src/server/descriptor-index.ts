import { createRegistry, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/** The schema of the served services, looked up the ways gRPC server reflection asks. */
export interface DescriptorIndex {
  /** Fully-qualified names of the served services. */
  readonly serviceNames: readonly string[];
  /** The file with this name, e.g. "rebalancer/v1/rebalancer.proto". */
  fileByName(name: string): DescFile | undefined;
  /** The file defining a message, enum, service, method, field, enum value or extension. */
  fileContainingSymbol(symbol: string): DescFile | undefined;
  /** The file defining extension `number` of message `typeName`. */
  fileContainingExtension(typeName: string, number: number): DescFile | undefined;
  /** The extension numbers known for message `typeName`, undefined when there is no such message. */
  extensionNumbers(typeName: string): number[] | undefined;
  /** The serialized FileDescriptorProto of a file, then of its imports not yet in `sent`. */
  serializeWithImports(file: DescFile, sent: Set<string>): Uint8Array[];
}

/** Indexes the files of the given services and every file they import, transitively. */
export function createDescriptorIndex(services: readonly DescService[]): DescriptorIndex {
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) {
      return;
    }
    files.set(file.proto.name, file);
    file.dependencies.forEach(addFile);
  };
  services.forEach((service) => addFile(service.file));
  const registry = createRegistry(...files.values());
  const serialized = new Map<string, Uint8Array>();

  function fileContainingSymbol(symbol: string): DescFile | undefined {
    const type = registry.get(symbol);
    if (type !== undefined) {
      return type.file;
    }
    // Members: a method of a service, a field or oneof of a message, a value of an enum.
    const dot = symbol.lastIndexOf(".");
    const parent = dot > 0 ? registry.get(symbol.slice(0, dot)) : undefined;
    const member = symbol.slice(dot + 1);
    switch (parent?.kind) {
      case "service":
        return parent.methods.some((m) => m.name === member) ? parent.file : undefined;
      case "message":
        return parent.fields.some((f) => f.name === member) ||
          parent.oneofs.some((o) => o.name === member)
          ? parent.file
          : undefined;
      case "enum":
        return parent.values.some((v) => v.name === member) ? parent.file : undefined;
      default:
        return undefined;
    }
  }

  function extensionNumbers(typeName: string): number[] | undefined {
    const message = registry.getMessage(typeName);
    if (message === undefined) {
      return undefined;
    }
    const numbers: number[] = [];
    for (const type of registry) {
      if (type.kind === "extension" && type.extendee.typeName === typeName) {
        numbers.push(type.number);
      }
    }
    return numbers.sort((a, b) => a - b);
  }

  function serialize(file: DescFile): Uint8Array {
    let bytes = serialized.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      serialized.set(file.proto.name, bytes);
    }
    return bytes;
  }

  return {
    serviceNames: services.map((service) => service.typeName),
    fileByName: (name) => files.get(name),
    fileContainingSymbol,
    fileContainingExtension(typeName, number) {
      const message = registry.getMessage(typeName);
      return message && registry.getExtensionFor(message, number)?.file;
    },
    extensionNumbers,
    // Like grpc-go: the asked-for file always, its imports once per stream.
    serializeWithImports(file, sent) {
      const result: Uint8Array[] = [];
      const queue = [file];
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (result.length === 0 || !sent.has(next.proto.name)) {
          sent.add(next.proto.name);
          result.push(serialize(next));
          queue.push(...next.dependencies);
        }
      }
      return result;
    },
  };
}
