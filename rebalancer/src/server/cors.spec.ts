import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { bearer, currentKey, startTestServer } from "./testing/test-server.js";
import type { TestServer } from "./testing/test-server.js";

describe("CORS", () => {
  const allowed = "https://console.example.com";
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ corsOrigins: [allowed] });
  });
  after(() => t.close());

  const preflight = (origin: string, path = "/rebalancer.v1.RebalancerService/ListAccounts") =>
    fetch(`${t.url}${path}`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers":
          "authorization,connect-protocol-version,content-type,traceparent",
      },
    });

  it("answers a preflight from an allowed origin with 204 and the Connect, auth and trace headers", async () => {
    const response = await preflight(allowed);
    expect(response.status).to.equal(204);
    expect(response.headers.get("access-control-allow-origin")).to.equal(allowed);
    expect(response.headers.get("access-control-allow-methods")).to.equal("GET, POST");
    const headers = response.headers.get("access-control-allow-headers")?.split(", ") ?? [];
    expect(headers).to.include.members([
      "authorization",
      "traceparent",
      "tracestate",
      "Content-Type",
      "Connect-Protocol-Version",
      "X-Grpc-Web",
    ]);
  });

  it("answers a preflight on a REST route too", async () => {
    const response = await preflight(allowed, "/rebalance/DU111/dry-run");
    expect(response.status).to.equal(204);
    expect(response.headers.get("access-control-allow-origin")).to.equal(allowed);
  });

  it("gives no CORS headers to a preflight from another origin", async () => {
    const response = await preflight("https://evil.example.net");
    expect(response.status).to.equal(403);
    expect(response.headers.get("access-control-allow-origin")).to.equal(null);
    expect(response.headers.get("access-control-allow-headers")).to.equal(null);
  });

  it("lets an allowed origin read an RPC's answer and its gRPC-Web status headers", async () => {
    const response = await fetch(`${t.url}/rebalancer.v1.RebalancerService/ListAccounts`, {
      method: "POST",
      headers: { origin: allowed, "content-type": "application/json", ...bearer(currentKey) },
      body: "{}",
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get("access-control-allow-origin")).to.equal(allowed);
    expect(response.headers.get("access-control-expose-headers")).to.contain("Grpc-Status");
  });

  it("serves a request from another origin without CORS headers, so a browser withholds it", async () => {
    const response = await fetch(`${t.url}/health`, {
      headers: { origin: "https://evil.example.net" },
    });
    expect(response.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("allows any origin with *", async () => {
    const open = await startTestServer({ corsOrigins: ["*"] });
    try {
      const response = await fetch(`${open.url}/health`, {
        method: "OPTIONS",
        headers: { origin: "https://anywhere.example", "access-control-request-method": "GET" },
      });
      expect(response.status).to.equal(204);
      expect(response.headers.get("access-control-allow-origin")).to.equal(
        "https://anywhere.example",
      );
    } finally {
      await open.close();
    }
  });

  it("leaves requests without an Origin header alone", async () => {
    const client = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }),
    );
    const response = await client.listAccounts({}, { headers: bearer(currentKey) });
    expect(response.accounts).to.have.length(4);
  });
});
