import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { startTelemetry, type Telemetry } from "@mesh/platform/telemetry";
import { createTracingInterceptor } from "@mesh/platform/tracing-interceptor";
import { startRebalancer, type RunningRebalancer } from "@mesh/rebalancer/app";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { expect } from "chai";
import { createLogger } from "@mesh/platform/logger";
import { until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../src/app.js";
import type { RebalancerProtocol } from "../src/delivery/rebalancer-client.js";
import { postEvent, scratchDir, testConfig } from "./support/test-subscriber.js";

const allocations = fileURLToPath(new URL("../../rebalancer/allocations/", import.meta.url));

/** One account of the simulated broker's bundled state: its first run sells and buys. */
const accountsYaml = `
defaults:
  allocation_url: "file:${allocations}{strategy}.yaml"
accounts:
  - { account_id: DU1000001, type: paper, enabled: true, strategy: etf-blend-301-20 }
`;
const channel = "etf-blend-301-20";

interface LogLine {
  msg: string;
  trace_id?: string;
}

const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("one trace per event, from the subscriber through the rebalancer", function () {
  this.timeout(30_000);
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: RunningRebalancer | undefined;
  let subscribers: Subscriber[];
  let logs: LogLine[];

  // The platform logger: lines written inside a span carry its trace id.
  const logger = createLogger({
    name: "test",
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) {
          logs.push(JSON.parse(line) as LogLine);
        }
        done();
      },
    }),
  });

  before(() => {
    telemetry = startTelemetry({ serviceName: "test", env: {}, spanExporter: exporter });
  });
  after(() => telemetry.shutdown());
  beforeEach(() => {
    scratch = scratchDir();
    writeFileSync(scratch.accountsFile, accountsYaml);
    subscribers = [];
    logs = [];
    exporter.reset();
  });
  afterEach(async () => {
    for (const subscriber of subscribers) await subscriber.close();
    await rebalancer?.close(100);
    rebalancer = undefined;
    scratch.remove();
  });

  const startTracedRebalancer = async (port = 0) => {
    rebalancer = await startRebalancer({
      accountsFile: scratch.accountsFile,
      dataDir: join(scratch.dir, "rebalancer"),
      broker: createSimBroker({ fillDelayMs: 5 }),
      port,
      interceptors: [createTracingInterceptor({ kind: "server", tracer: telemetry.tracer })],
    });
    return rebalancer;
  };
  const startTracedSubscriber = async (url: string, protocol: RebalancerProtocol = "grpc") => {
    const subscriber = await startSubscriber(testConfig(scratch.dir, url, { protocol }), {
      logger,
      tracer: telemetry.tracer,
      interceptors: [createTracingInterceptor({ kind: "client", tracer: telemetry.tracer })],
    });
    subscribers.push(subscriber);
    return subscriber;
  };
  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((s) => s.name === name);
  const rebalanceSpan = (kind: SpanKind) =>
    spans().find((s) => s.kind === kind && s.name === "rebalancer.v1.RebalancerService/Rebalance");
  // The server span ends when its stream is drained, a moment after the subscriber has the answer.
  const runTraced = () =>
    until(() => rebalanceSpan(SpanKind.SERVER) !== undefined, 5000, "server span ended");

  /** Checks the run below a server span: run, phases, orders, broker calls. */
  const expectRunTree = (server: ReadableSpan) => {
    const [run] = named("rebalance.run");
    expect(parentOf(run!)).to.equal(idOf(server));
    const phases = spans().filter((s) => s.name.startsWith("phase "));
    expect(phases.map((s) => s.name)).to.include.members(["phase selling", "phase buying"]);
    for (const phase of phases) expect(parentOf(phase)).to.equal(idOf(run!));
    const orders = spans().filter((s) => s.name.startsWith("order "));
    expect(orders.length).to.be.greaterThan(0);
    const phaseIds = phases.map(idOf);
    for (const order of orders) expect(phaseIds).to.include(parentOf(order));
    expect(named("broker.placeOrder").map(parentOf)).to.have.members(orders.map(idOf));
    expect(parentOf(named("allocations.fetch")[0]!)).to.equal(
      idOf(named("phase fetching_allocations")[0]!),
    );
  };

  const protocols: [RebalancerProtocol, string][] = [
    ["grpc", "grpc"],
    ["connect", "connect_rpc"],
  ];
  for (const [protocol, rpcSystem] of protocols) {
    it(`puts an event in one trace over ${protocol}: received, deliver, RPC client and server, run, phases, orders`, async () => {
      const { url } = await startTracedRebalancer();
      const subscriber = await startTracedSubscriber(url, protocol);
      const ack = await postEvent(subscriber.url, channel, { exec: "rebalance", eventId: "t-1" });
      expect(ack.status).to.equal(202);
      await until(async () => (await subscriber.inbox.counts()).done === 1, 15_000, "delivered");
      await runTraced();

      const [received, ...moreReceived] = named("message received");
      expect(moreReceived).to.have.length(0);
      const traceId = received!.spanContext().traceId;
      expect(new Set(spans().map((s) => s.spanContext().traceId))).to.deep.equal(
        new Set([traceId]),
      );
      expect(parentOf(received!)).to.equal(undefined);
      expect(received!.attributes).to.deep.include({
        "messaging.destination.name": channel,
        "event.id": "t-1",
        "event.source": "http",
        "account.ids": ["DU1000001"],
      });
      expect(received!.attributes["messaging.message.id"]).to.be.a("string");

      const [deliver, ...moreDeliver] = named("deliver");
      expect(moreDeliver).to.have.length(0);
      expect(parentOf(deliver!)).to.equal(idOf(received!));
      expect(deliver!.attributes).to.deep.include({
        "account.id": "DU1000001",
        "delivery.idempotency_key": "t-1/DU1000001",
        "delivery.attempt": 1,
        "delivery.outcome": "done",
      });
      const client = rebalanceSpan(SpanKind.CLIENT)!;
      const server = rebalanceSpan(SpanKind.SERVER)!;
      expect(parentOf(client)).to.equal(idOf(deliver!));
      expect(parentOf(server)).to.equal(idOf(client));
      expect(client.attributes["rpc.system"]).to.equal(rpcSystem);
      expectRunTree(server);

      const traced = (msg: string) => logs.filter((l) => l.msg === msg).map((l) => l.trace_id);
      expect(traced("message recorded")).to.deep.equal([traceId]);
      expect(traced("delivered")).to.deep.equal([traceId]);
      expect(new Set(traced("run progress"))).to.deep.equal(new Set([traceId]));
    });
  }

  it("joins the caller's trace when POST /events carries a traceparent", async () => {
    const { url } = await startTracedRebalancer();
    const subscriber = await startTracedSubscriber(url);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await fetch(`${subscriber.url}/events/${channel}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ exec: "print-rebalance", eventId: "t-caller" }),
    });
    expect(res.status).to.equal(202);
    await until(async () => (await subscriber.inbox.counts()).done === 1, 15_000, "delivered");
    const [received] = named("message received");
    expect(received!.spanContext().traceId).to.equal(traceId);
    expect(parentOf(received!)).to.equal("00f067aa0ba902b7");
    expect(parentOf(named("deliver")[0]!)).to.equal(idOf(received!));
  });

  it("continues the message's trace when the delivery succeeds only after a restart", async () => {
    // A port where the rebalancer will be, once it is back.
    const port = (await startTracedRebalancer()).port;
    await rebalancer!.close(100);
    rebalancer = undefined;
    const url = `http://127.0.0.1:${port}`;
    const first = await startTracedSubscriber(url);
    await postEvent(first.url, channel, { exec: "rebalance", eventId: "t-restart" });
    await until(() => named("deliver").length > 0, 5000, "a failed attempt");
    await first.close();

    await startTracedRebalancer(port);
    const second = await startTracedSubscriber(url);
    await until(async () => (await second.inbox.counts()).done === 1, 15_000, "delivered");
    await runTraced();

    const [received] = named("message received");
    const traceId = received!.spanContext().traceId;
    expect(new Set(spans().map((s) => s.spanContext().traceId))).to.deep.equal(new Set([traceId]));
    const attempts = named("deliver");
    for (const attempt of attempts) expect(parentOf(attempt)).to.equal(idOf(received!));
    const outcome = (name: string) =>
      attempts.filter((s) => s.attributes["delivery.outcome"] === name);
    expect(outcome("retry").length).to.be.greaterThan(0);
    for (const attempt of outcome("retry")) {
      expect(attempt.status.code).to.equal(SpanStatusCode.ERROR);
      expect(attempt.status.message).to.match(/^Unavailable/);
    }
    const [done, ...moreDone] = outcome("done");
    expect(moreDone).to.have.length(0);
    // Failed attempts made client spans too: the one the server answered is the done attempt's.
    const server = rebalanceSpan(SpanKind.SERVER)!;
    const client = spans().find((s) => idOf(s) === parentOf(server))!;
    expect(client.kind).to.equal(SpanKind.CLIENT);
    expect(parentOf(client)).to.equal(idOf(done!));
    expectRunTree(server);
  });
});
