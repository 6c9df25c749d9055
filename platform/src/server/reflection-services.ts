// gRPC server reflection, v1 and v1alpha (grpcurl still speaks v1alpha). The two versions are the
// same messages under different package names, so v1alpha is served by re-decoding its
// messages as v1 ones and back: one implementation, no drift.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "@mesh/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@mesh/proto/grpc/reflection/v1alpha/reflection";
import type { DescriptorIndex } from "./descriptor-index.js";

/** The reflection services, one implementation per protocol version. */
export interface ReflectionServices {
  /** grpc.reflection.v1.ServerReflection. */
  v1: ServiceImpl<typeof v1.ServerReflection>;
  /** grpc.reflection.v1alpha.ServerReflection. */
  v1alpha: ServiceImpl<typeof v1alpha.ServerReflection>;
}

// gRPC status codes carried in ErrorResponse.error_code.
const notFound = 5;
const invalidArgument = 3;

/**
 * Answers list_services, file_by_filename, file_containing_symbol, file_containing_extension and
 * all_extension_numbers_of_type from the index. Streams end when the client ends them or when
 * `stopped` aborts (server shutdown), so open reflection sessions do not hold up a shutdown.
 */
export function createReflectionServices(
  index: DescriptorIndex,
  stopped: AbortSignal,
): ReflectionServices {
  async function* serverReflectionInfo(
    requests: AsyncIterable<v1.ServerReflectionRequest>,
  ): AsyncGenerator<v1.ServerReflectionResponse> {
    // Imports already sent on this stream, which the client has no need to receive twice.
    const sent = new Set<string>();
    for await (const request of untilAborted(requests, stopped)) {
      yield create(v1.ServerReflectionResponseSchema, {
        validHost: request.host,
        originalRequest: request,
        messageResponse: answer(index, request, sent),
      });
    }
  }

  async function* serverReflectionInfoV1alpha(
    requests: AsyncIterable<v1alpha.ServerReflectionRequest>,
  ): AsyncGenerator<v1alpha.ServerReflectionResponse> {
    const asV1 = mapAsync(requests, (request) =>
      fromBinary(
        v1.ServerReflectionRequestSchema,
        toBinary(v1alpha.ServerReflectionRequestSchema, request),
      ),
    );
    for await (const response of serverReflectionInfo(asV1)) {
      yield fromBinary(
        v1alpha.ServerReflectionResponseSchema,
        toBinary(v1.ServerReflectionResponseSchema, response),
      );
    }
  }

  return {
    v1: { serverReflectionInfo },
    v1alpha: { serverReflectionInfo: serverReflectionInfoV1alpha },
  };
}

function answer(
  index: DescriptorIndex,
  request: v1.ServerReflectionRequest,
  sent: Set<string>,
): v1.ServerReflectionResponse["messageResponse"] {
  const files = (file: ReturnType<DescriptorIndex["fileByName"]>, missing: string) =>
    file === undefined
      ? error(notFound, missing)
      : ({
          case: "fileDescriptorResponse",
          value: create(v1.FileDescriptorResponseSchema, {
            fileDescriptorProto: index.serializeWithImports(file, sent),
          }),
        } as const);
  const asked = request.messageRequest;
  switch (asked.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: create(v1.ListServiceResponseSchema, {
          service: index.serviceNames.map((name) => ({ name })),
        }),
      };
    case "fileByFilename":
      return files(index.fileByName(asked.value), `file "${asked.value}" not found`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(asked.value), `symbol "${asked.value}" not found`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = asked.value;
      return files(
        index.fileContainingExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of "${containingType}" not found`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(asked.value);
      if (numbers === undefined) {
        return error(notFound, `message type "${asked.value}" not found`);
      }
      return {
        case: "allExtensionNumbersResponse",
        value: create(v1.ExtensionNumberResponseSchema, {
          baseTypeName: asked.value,
          extensionNumber: numbers,
        }),
      };
    }
    default:
      return error(invalidArgument, "the reflection request names no known query");
  }
}

function error(
  errorCode: number,
  errorMessage: string,
): v1.ServerReflectionResponse["messageResponse"] {
  return {
    case: "errorResponse",
    value: create(v1.ErrorResponseSchema, { errorCode, errorMessage }),
  };
}

async function* mapAsync<A, B>(source: AsyncIterable<A>, map: (a: A) => B): AsyncGenerator<B> {
  for await (const item of source) {
    yield map(item);
  }
}

/**
 * Iterates `source` until it ends or `signal` aborts, whichever comes first. The signal is the
 * server's, shared by every stream: each stream removes its listener when it ends, or every
 * `buf curl` call (one reflection stream each) would leave one behind.
 */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let end = (): void => undefined;
  const aborted = new Promise<IteratorResult<T>>((resolve) => {
    end = (): void => resolve({ done: true, value: undefined });
    if (signal.aborted) {
      end();
    } else {
      signal.addEventListener("abort", end, { once: true });
    }
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done === true) {
        return;
      }
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", end);
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
