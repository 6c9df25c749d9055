import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { startTelemetry, type Telemetry } from "@mesh/platform/telemetry";
import { createTracingInterceptor } from "@mesh/platform/tracing-interceptor";
import { until } from "@mesh/platform/testing/until";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createSimBroker } from "../src/broker/sim/sim-broker.js";

const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

/** The span's parent id, across SDK versions of ReadableSpan. */
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("tracing through the rebalancer", () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let app: RunningRebalancer;

  before(async () => {
    telemetry = startTelemetry({ serviceName: "test", env: {}, spanExporter: exporter });
    app = await startRebalancer({
      accountsFile,
      dataDir: mkdtempSync(join(tmpdir(), "tracing-")),
      broker: createSimBroker({ fillDelayMs: 5 }),
      interceptors: [createTracingInterceptor({ kind: "server", tracer: telemetry.tracer })],
    });
  });
  after(async () => {
    await app.close(1_000);
    await telemetry.shutdown();
  });

  const transports: Record<string, (baseUrl: string) => Transport> = {
    gRPC: (baseUrl) =>
      createGrpcTransport({
        baseUrl,
        interceptors: [createTracingInterceptor({ kind: "client", tracer: telemetry.tracer })],
      }),
    "Connect JSON": (baseUrl) =>
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        interceptors: [createTracingInterceptor({ kind: "client", tracer: telemetry.tracer })],
      }),
  };

  // Each transport rebalances its own account: the first run leaves its account balanced.
  const accounts = { gRPC: "DU1000001", "Connect JSON": "DU1000002" } as Record<string, string>;
  for (const [name, transport] of Object.entries(transports)) {
    it(`puts a paper run in one trace over ${name}: client, server, run, phases, broker and orders`, async () => {
      exporter.reset();
      const client = createClient(RebalancerService, transport(app.url));
      const key = `trace-${name}`;
      for await (const _ of client.rebalance({
        accountId: accounts[name]!,
        mode: ExecutionMode.LIVE,
        idempotencyKey: key,
      })) {
        // drain
      }
      // The server and run spans end as the response goes out, maybe after the client read it.
      await until(
        () =>
          ["rebalance.run", undefined].every((name) =>
            exporter
              .getFinishedSpans()
              .some((s) => (name ? s.name === name : s.kind === SpanKind.SERVER)),
          ),
        5000,
        "the run and server spans ended",
      );
      const spans = exporter.getFinishedSpans();
      const named = (n: string) => spans.filter((s) => s.name === n);
      const [clientSpan] = spans.filter(
        (s) => s.kind === SpanKind.CLIENT && s.name.endsWith("/Rebalance"),
      );
      const [serverSpan] = spans.filter((s) => s.kind === SpanKind.SERVER);
      expect(clientSpan, "client span").to.not.equal(undefined);
      expect(serverSpan, "server span").to.not.equal(undefined);
      const traceId = clientSpan!.spanContext().traceId;
      expect(new Set(spans.map((s) => s.spanContext().traceId))).to.deep.equal(new Set([traceId]));
      expect(parentOf(serverSpan!)).to.equal(clientSpan!.spanContext().spanId);
      expect(serverSpan!.attributes["rpc.method"]).to.equal("Rebalance");

      const [run] = named("rebalance.run");
      expect(parentOf(run!)).to.equal(serverSpan!.spanContext().spanId);
      expect(run!.attributes["run.status"]).to.equal("COMPLETED");
      const phases = spans.filter((s) => s.name.startsWith("phase "));
      expect(phases.map((s) => s.name)).to.include.members(["phase selling", "phase buying"]);
      for (const phase of phases) expect(parentOf(phase)).to.equal(run!.spanContext().spanId);

      const selling = named("phase selling")[0]!;
      const sells = spans.filter((s) => s.name.startsWith("order sell "));
      expect(sells.length).to.be.greaterThan(0);
      for (const order of sells) {
        expect(parentOf(order)).to.equal(selling.spanContext().spanId);
        expect(order.attributes["order.status"]).to.equal("filled");
        expect(order.attributes["order.id"]).to.be.a("string");
      }
      const placements = named("broker.placeOrder");
      expect(placements.map((s) => parentOf(s))).to.have.members(
        spans.filter((s) => s.name.startsWith("order ")).map((s) => s.spanContext().spanId),
      );
      const fetch = named("allocations.fetch")[0]!;
      expect(parentOf(fetch)).to.equal(
        named("phase fetching_allocations")[0]!.spanContext().spanId,
      );
      expect(named("broker.holdings").length).to.be.greaterThan(0);
    });
  }

  it("records a refused call as an error on the server span", async () => {
    exporter.reset();
    const client = createClient(RebalancerService, transports.gRPC!(app.url));
    await client.getPositions({ accountId: "NOPE" }).catch(() => undefined);
    const [server] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server!.status.code).to.equal(2);
    expect(server!.attributes["rpc.connect_rpc.error_code"]).to.equal("NotFound");
  });
});
