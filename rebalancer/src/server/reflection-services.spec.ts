import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as v1 from "@mesh/proto/grpc/reflection/v1/reflection";
import * as v1alpha from "@mesh/proto/grpc/reflection/v1alpha/reflection";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { paperAccount } from "./testing/fixed-rebalancer-service.js";
import { currentKey, startTestServer } from "./testing/test-server.js";
import type { TestServer } from "./testing/test-server.js";

const bufLauncher = createRequire(import.meta.url).resolve("@bufbuild/buf/bin/buf");

/** Runs `buf curl` with the given arguments; resolves with stdout, rejects with stderr. */
function bufCurl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bufLauncher, "curl", ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`buf curl ${args.join(" ")} failed: ${stderr || error.message}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

describe("server reflection", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const everyMethod = RebalancerService.methods.map(
    (m) => `rebalancer.v1.RebalancerService/${m.name}`,
  );

  describe("through buf curl", () => {
    it("lists every RebalancerService method over gRPC (v1)", async () => {
      const out = await bufCurl([
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--list-methods",
        t.url,
      ]);
      const listed = out.trim().split("\n");
      expect(listed).to.include.members(everyMethod);
      expect(listed).to.include("grpc.health.v1.Health/Check");
    });

    it("lists the same methods over v1alpha", async () => {
      const out = await bufCurl([
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--reflect-protocol",
        "grpc-v1alpha",
        "--list-methods",
        t.url,
      ]);
      expect(out.trim().split("\n")).to.include.members(everyMethod);
    });

    it("calls ListAccounts by name with JSON input", async () => {
      const out = await bufCurl([
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-H",
        `Authorization: Bearer ${currentKey}`,
        "-d",
        "{}",
        `${t.url}/rebalancer.v1.RebalancerService/ListAccounts`,
      ]);
      const body = JSON.parse(out) as { accounts: { accountId: string }[]; tradingMode: string };
      expect(body.accounts[0]?.accountId).to.equal(paperAccount);
      expect(body.tradingMode).to.equal("paper");
    });

    it("calls GetPositions over the Connect protocol on HTTP/1.1", async () => {
      const out = await bufCurl([
        "-H",
        `Authorization: Bearer ${currentKey}`,
        "-d",
        JSON.stringify({ account_id: paperAccount }),
        `${t.url}/rebalancer.v1.RebalancerService/GetPositions`,
      ]);
      expect(JSON.parse(out)).to.include({ accountId: paperAccount });
    });
  });

  describe("queries", () => {
    const reflect = async (requests: v1.ServerReflectionRequest["messageRequest"][]) => {
      const client = createClient(v1.ServerReflection, createGrpcTransport({ baseUrl: t.url }));
      const responses: v1.ServerReflectionResponse[] = [];
      async function* input() {
        for (const messageRequest of requests) {
          yield { host: "localhost", messageRequest };
        }
      }
      for await (const response of client.serverReflectionInfo(input())) {
        responses.push(response);
      }
      return responses;
    };
    const fileNames = (response: v1.ServerReflectionResponse | undefined) =>
      response?.messageResponse.case === "fileDescriptorResponse"
        ? response.messageResponse.value.fileDescriptorProto.map(
            (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
          )
        : [];

    it("answers file_containing_symbol with the file and its imports, each import once per stream", async () => {
      const [first, second] = await reflect([
        { case: "fileContainingSymbol", value: "rebalancer.v1.RebalancerService.Rebalance" },
        { case: "fileContainingSymbol", value: "rebalancer.v1.Order" },
      ]);
      // The contract imports protovalidate's rules too: tools need them to read its options.
      expect(fileNames(first)).to.deep.equal([
        "rebalancer/v1/rebalancer.proto",
        "buf/validate/validate.proto",
        "google/api/annotations.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/duration.proto",
        "google/protobuf/field_mask.proto",
        "google/api/http.proto",
      ]);
      expect(fileNames(second)).to.deep.equal(["rebalancer/v1/rebalancer.proto"]);
    });

    it("answers file_by_filename, file_containing_extension and all_extension_numbers_of_type", async () => {
      const [byName, extension, numbers] = await reflect([
        { case: "fileByFilename", value: "health/v1/health.proto" },
        {
          case: "fileContainingExtension",
          value: {
            $typeName: "grpc.reflection.v1.ExtensionRequest",
            containingType: "google.protobuf.MethodOptions",
            extensionNumber: 72295728,
          },
        },
        { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" },
      ]);
      expect(fileNames(byName)).to.deep.equal(["health/v1/health.proto"]);
      expect(fileNames(extension)[0]).to.equal("google/api/annotations.proto");
      expect(numbers?.messageResponse.case).to.equal("allExtensionNumbersResponse");
      expect(numbers?.messageResponse.value).to.deep.include({
        baseTypeName: "google.protobuf.MethodOptions",
        extensionNumber: [72295728],
      });
    });

    it("answers NOT_FOUND error responses for unknown names, keeping the stream open", async () => {
      const responses = await reflect([
        { case: "fileContainingSymbol", value: "nope.Nope" },
        { case: "fileByFilename", value: "nope.proto" },
        { case: "listServices", value: "" },
      ]);
      expect(responses.map((r) => r.messageResponse.case)).to.deep.equal([
        "errorResponse",
        "errorResponse",
        "listServicesResponse",
      ]);
      expect(responses[0]?.messageResponse.value).to.deep.include({
        errorCode: 5,
        errorMessage: 'symbol "nope.Nope" not found',
      });
      expect(responses[0]?.originalRequest?.messageRequest.value).to.equal("nope.Nope");
    });

    it("lists the same services over v1alpha", async () => {
      const client = createClient(
        v1alpha.ServerReflection,
        createGrpcTransport({ baseUrl: t.url }),
      );
      async function* input() {
        yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
      }
      const names: string[] = [];
      for await (const response of client.serverReflectionInfo(input())) {
        if (response.messageResponse.case === "listServicesResponse") {
          names.push(...response.messageResponse.value.service.map((s) => s.name));
        }
      }
      expect(names).to.deep.equal([
        "rebalancer.v1.RebalancerService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
    });
  });
});
