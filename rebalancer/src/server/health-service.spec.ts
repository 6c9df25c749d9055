import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@mesh/proto/health/v1/health";
import {
  GetHealthResponseSchema,
  HealthStatus,
  RebalancerService,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { restResponseJson } from "./rest-response-json.js";
import { bearer, currentKey, startTestServer } from "./testing/test-server.js";
import type { TestServer } from "./testing/test-server.js";

const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = HealthCheckResponse_ServingStatus;

describe("health", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(() => t.close());

  // No keys are sent anywhere here: probes must reach health without one.
  const health = () => createClient(Health, createGrpcTransport({ baseUrl: t.url }));

  describe("grpc.health.v1.Health", () => {
    it("Check answers SERVING for the server and for RebalancerService", async () => {
      for (const service of ["", "rebalancer.v1.RebalancerService"]) {
        expect((await health().check({ service })).status).to.equal(SERVING);
      }
    });

    it("Check answers NOT_SERVING when a component is down", async () => {
      t.components.set("broker", { ok: false, detail: "disconnected" });
      expect((await health().check({ service: "" })).status).to.equal(NOT_SERVING);
    });

    it("Check answers not_found for an unknown service", async () => {
      try {
        await health().check({ service: "nope.v1.Nope" });
        expect.fail("expected not_found");
      } catch (error) {
        expect(ConnectError.from(error).code).to.equal(Code.NotFound);
      }
    });

    it("Watch sends the current status, then every change", async () => {
      const abort = new AbortController();
      const statuses: HealthCheckResponse_ServingStatus[] = [];
      const watching = (async () => {
        try {
          for await (const response of health().watch({ service: "" }, { signal: abort.signal })) {
            statuses.push(response.status);
            if (statuses.length === 1) {
              t.components.set("store", { ok: false, detail: "read-only file system" });
            } else if (statuses.length === 2) {
              t.components.set("store", { ok: true, detail: "writable" });
            } else {
              abort.abort();
            }
          }
        } catch (error) {
          if (ConnectError.from(error).code !== Code.Canceled) {
            throw error;
          }
        }
      })();
      await watching;
      expect(statuses).to.deep.equal([SERVING, NOT_SERVING, SERVING]);
    });

    it("Watch answers SERVICE_UNKNOWN for an unknown service and stays open", async () => {
      const abort = new AbortController();
      const call = health().watch({ service: "nope.v1.Nope" }, { signal: abort.signal });
      const stream = call[Symbol.asyncIterator]();
      expect((await stream.next()).value?.status).to.equal(SERVICE_UNKNOWN);
      abort.abort();
    });

    it("List names the server and RebalancerService", async () => {
      const { statuses } = await health().list({});
      expect(Object.keys(statuses).sort()).to.deep.equal(["", "rebalancer.v1.RebalancerService"]);
      expect(statuses[""]?.status).to.equal(SERVING);
    });

    it("Watch ends with NOT_SERVING when the server closes, without holding the close up", async () => {
      const statuses: HealthCheckResponse_ServingStatus[] = [];
      const watching = (async () => {
        for await (const response of health().watch({ service: "" })) {
          statuses.push(response.status);
        }
      })();
      await until(() => statuses.length > 0, 5000, "the first Watch answer");
      const started = Date.now();
      await t.server.close(5000);
      await watching;
      expect(Date.now() - started).to.be.below(1000);
      expect(statuses).to.deep.equal([SERVING, NOT_SERVING]);
    });
  });

  describe("GET /health", () => {
    it("answers without a key only up or down per component", async () => {
      const response = await fetch(`${t.url}/health`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({
        status: "serving",
        components: [
          { name: "broker", status: "serving", detail: "" },
          { name: "store", status: "serving", detail: "" },
        ],
      });
    });

    it("answers 200 with the status and details of every component to a key", async () => {
      const response = await fetch(`${t.url}/health`, { headers: bearer(currentKey) });
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({
        status: "serving",
        components: [
          {
            name: "broker",
            status: "serving",
            detail: "connected to the simulated broker",
          },
          { name: "store", status: "serving", detail: "writable" },
        ],
      });
    });

    it("answers 503 naming the component that is down", async () => {
      t.components.set("broker", { ok: false, detail: "not connected to 127.0.0.1:4002" });
      const response = await fetch(`${t.url}/health`, { headers: bearer(currentKey) });
      expect(response.status).to.equal(503);
      const body = (await response.json()) as { components: unknown[] };
      expect(body).to.include({ status: "not_serving" });
      expect(body.components[0]).to.deep.equal({
        name: "broker",
        status: "not_serving",
        detail: "not connected to 127.0.0.1:4002",
      });
    });

    it("gives the same report as the GetHealth RPC (in the REST routes' words), which needs no key either", async () => {
      t.components.set("store", { ok: false, detail: "disk full" });
      const client = createClient(
        RebalancerService,
        createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }),
      );
      const rpc = await client.getHealth({});
      expect(rpc.status).to.equal(HealthStatus.NOT_SERVING);
      const rest = await (await fetch(`${t.url}/health`)).json();
      expect(rest).to.deep.equal(restResponseJson(GetHealthResponseSchema, rpc));
      expect(rest).to.include({ status: "not_serving" });
    });
  });
});
