import * as http2 from "node:http2";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { dryRunTemplate } from "./rebalancer-rest-adapters.js";
import { restRoutes } from "./rest-routes.js";
import { busyAccount, failingAccount, paperAccount } from "./testing/fixed-rebalancer-service.js";
import { bearer, currentKey, previousKey, startTestServer } from "./testing/test-server.js";
import type { TestServer } from "./testing/test-server.js";

describe("the REST routes", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  async function call(
    method: string,
    path: string,
    options: { body?: string; key?: string | null } = {},
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const key = options.key === undefined ? currentKey : options.key;
    const response = await fetch(`${t.url}${path}`, {
      method,
      headers: key === null ? {} : bearer(key),
      body: options.body,
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      headers: response.headers,
    };
  }

  it("are produced from every google.api.http annotation, additional bindings included", () => {
    const routes = restRoutes(RebalancerService).map((r) => `${r.httpMethod} ${r.path.template}`);
    expect(routes).to.deep.equal([
      "GET /accounts",
      "GET /accounts/{account_id}/positions",
      "GET /accounts/{account_id}/value",
      "GET /accounts/{account_id}/targets",
      "POST /rebalance/{account_id}",
      `POST ${dryRunTemplate}`,
      "GET /runs/{run_id}",
      "GET /accounts/{account_id}/runs",
      "GET /runs:watch",
      "GET /accounts/{account_id}/orders",
      "POST /accounts/{account_id}/orders:cancel",
      "GET /health",
    ]);
  });

  it("GET /accounts answers the accounts with the proto field names", async () => {
    const { status, body } = await call("GET", "/accounts");
    expect(status).to.equal(200);
    const accounts = body["accounts"] as Record<string, unknown>[];
    expect(accounts[0]).to.include({
      account_id: paperAccount,
      type: "paper",
      enabled: true,
      strategy: "etf-blend-200-35",
    });
    expect(body["trading_mode"]).to.equal("paper");
  });

  it("binds path variables: GET /accounts/{account_id}/positions", async () => {
    const { status, body } = await call("GET", `/accounts/${paperAccount}/positions`);
    expect(status).to.equal(200);
    expect(body).to.include({ account_id: paperAccount, net_liquidation: 100000 });
    expect(body["as_of"]).to.equal("2025-06-24T14:30:00Z");
  });

  it("binds query parameters on GET: /accounts/{account_id}/runs?limit=2", async () => {
    const { status, body } = await call("GET", `/accounts/${paperAccount}/runs?limit=2`);
    expect(status).to.equal(200);
    expect(body["runs"]).to.have.length(2);
  });

  it("answers 400 for an unknown query parameter, naming it", async () => {
    const { status, body } = await call("GET", `/accounts/${paperAccount}/runs?limt=2`);
    expect(status).to.equal(400);
    expect(body).to.deep.equal({
      code: "invalid_argument",
      message: 'unknown query parameter "limt"',
    });
  });

  it("serves the verb route POST /accounts/{account_id}/orders:cancel", async () => {
    const { status, body } = await call("POST", `/accounts/${paperAccount}/orders:cancel`);
    expect(status).to.equal(200);
    expect((body["cancelled"] as Record<string, unknown>[])[0]).to.include({
      symbol: "QQQ",
      status: "cancelled",
      side: "sell",
    });
  });

  it("writes enum values as lower-case words on every route, while Connect keeps the proto's names", async () => {
    const rest = await call("GET", "/runs/run-1");
    expect(rest.body["run"]).to.include({ status: "completed", mode: "unspecified" });
    const runs = await call("GET", `/accounts/${paperAccount}/runs?limit=1`);
    expect((runs.body["runs"] as Record<string, unknown>[])[0]).to.include({ status: "completed" });
    const connect = await fetch(`${t.url}/rebalancer.v1.RebalancerService/GetRun`, {
      method: "POST",
      headers: { ...bearer(currentKey), "content-type": "application/json" },
      body: JSON.stringify({ runId: "run-1" }),
    });
    const { run } = (await connect.json()) as { run: Record<string, unknown> };
    expect(run).to.include({ status: "RUN_STATUS_COMPLETED" });
  });

  it("takes an enum's lower-case word in a query parameter (?view=full), refusing unknown words", async () => {
    expect((await call("GET", `/accounts/${paperAccount}/runs?view=full`)).status).to.equal(200);
    expect(
      (await call("GET", `/accounts/${paperAccount}/runs?view=RUN_VIEW_FULL`)).status,
    ).to.equal(200);
    const bad = await call("GET", `/accounts/${paperAccount}/runs?view=everything`);
    expect(bad.status).to.equal(400);
    expect(bad.body["message"]).to.equal('query parameter "view" is not a view: use summary, full');
  });

  describe("POST /rebalance/{account_id}/dry-run", () => {
    it("answers the seed's JSON shape with the planned orders", async () => {
      const { status, body } = await call("POST", `/rebalance/${paperAccount}/dry-run`);
      expect(status).to.equal(200);
      expect(body).to.deep.equal({
        account_id: paperAccount,
        execution_mode: "dry_run",
        orders: [
          { symbol: "QQQ", quantity: 10, action: "SELL", market_value: 4005 },
          { symbol: "EDC", quantity: 25, action: "BUY", market_value: 1005 },
        ],
        status: "completed",
        message: "dry run: 2 orders planned",
        timestamp: "2025-06-24T14:30:04.000Z",
        run_id: "run-1",
      });
    });

    it("forces a dry run even when the body asks for live, and passes the rest of the body", async () => {
      const { status, body } = await call("POST", `/rebalance/${paperAccount}/dry-run`, {
        body: JSON.stringify({ mode: "EXECUTION_MODE_LIVE", idempotency_key: "evt-1" }),
      });
      expect(status).to.equal(200);
      expect(body["execution_mode"]).to.equal("dry_run");
      const received = t.fixed.rebalanceRequests.at(-1);
      expect(received?.mode).to.equal(ExecutionMode.DRY_RUN);
      expect(received?.idempotencyKey).to.equal("evt-1");
      expect(received?.trigger?.source).to.equal("rest");
    });

    it("names REST as the source of a body's trigger that names none, keeping one that does", async () => {
      await call("POST", `/rebalance/${paperAccount}/dry-run`, {
        body: JSON.stringify({ trigger: { event_id: "e-1" } }),
      });
      expect(t.fixed.rebalanceRequests.at(-1)?.trigger).to.include({
        source: "rest",
        eventId: "e-1",
      });
      await call("POST", `/rebalance/${paperAccount}/dry-run`, {
        body: JSON.stringify({ trigger: { source: "cron" } }),
      });
      expect(t.fixed.rebalanceRequests.at(-1)?.trigger?.source).to.equal("cron");
    });
  });

  describe("POST /rebalance/{account_id}", () => {
    it('executes live for the seed\'s {"execution_mode":"rebalance"}, answering the placed orders', async () => {
      const { status, body } = await call("POST", `/rebalance/${paperAccount}`, {
        body: JSON.stringify({ execution_mode: "rebalance" }),
      });
      expect(status).to.equal(200);
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.LIVE);
      expect(body).to.deep.include({
        execution_mode: "live",
        status: "completed_with_adjustments",
        message: "EDC buy filled 20 of 25 shares",
        orders: [
          { symbol: "QQQ", quantity: 10, action: "SELL", market_value: 4002.5 },
          { symbol: "EDC", quantity: 25, action: "BUY", market_value: 802.1 },
        ],
      });
    });

    it("follows the body's mode when it sets one", async () => {
      const { body } = await call("POST", `/rebalance/${paperAccount}`, {
        body: JSON.stringify({ mode: "EXECUTION_MODE_DRY_RUN" }),
      });
      expect(body["execution_mode"]).to.equal("dry_run");
      expect(t.fixed.rebalanceRequests.at(-1)?.mode).to.equal(ExecutionMode.DRY_RUN);
    });

    it("accepts the path's account repeated in the body", async () => {
      await call("POST", `/rebalance/${paperAccount}/dry-run`, {
        body: JSON.stringify({ account_id: paperAccount }),
      });
      expect(t.fixed.rebalanceRequests.at(-1)?.accountId).to.equal(paperAccount);
    });

    it("answers a failed run with status failed and the reason", async () => {
      const { status, body } = await call("POST", `/rebalance/${failingAccount}`);
      expect(status).to.equal(200);
      expect(body).to.include({
        status: "failed",
        message: "sell of 10 QQQ rejected: insufficient shares",
      });
    });
  });

  describe("errors", () => {
    const cases: [string, string, string, number, string][] = [
      ["an unknown account", "GET", "/accounts/DU999/value", 404, "not_found"],
      ["an unknown run", "GET", "/runs/run-404", 404, "not_found"],
      ["a busy account", "POST", `/rebalance/${busyAccount}`, 409, "aborted"],
      ["an unknown account on a stream", "POST", "/rebalance/DU999/dry-run", 404, "not_found"],
    ];
    for (const [what, method, path, status, code] of cases) {
      it(`answers ${status} ${code} for ${what}`, async () => {
        const response = await call(method, path);
        expect(response.status).to.equal(status);
        expect(response.body["code"]).to.equal(code);
        expect(response.body["message"]).to.be.a("string").and.not.equal("");
      });
    }

    it("answers 401 with a Bearer challenge without a key, and with a wrong one", async () => {
      for (const key of [null, "wrong-key"]) {
        const response = await call("GET", "/accounts", { key });
        expect(response.status).to.equal(401);
        expect(response.body["code"]).to.equal("unauthenticated");
        expect(response.headers.get("www-authenticate")).to.equal("Bearer");
      }
    });

    it("accepts the previous key while keys rotate", async () => {
      expect((await call("GET", "/accounts", { key: previousKey })).status).to.equal(200);
    });

    it("answers 400 for a body that is not JSON", async () => {
      const response = await call("POST", `/rebalance/${paperAccount}/dry-run`, { body: "{mode:" });
      expect(response.status).to.equal(400);
      expect(response.body["code"]).to.equal("invalid_argument");
      expect(response.body["message"]).to.match(/^the request body is not valid JSON/);
    });

    it("answers 400 for a body field the request lacks or a bad enum", async () => {
      const unknownField = await call("POST", `/rebalance/${paperAccount}/dry-run`, {
        body: JSON.stringify({ modee: "x" }),
      });
      expect(unknownField.status).to.equal(400);
      expect(unknownField.body["message"]).to.contain('"modee"');
      const badEnum = await call("POST", `/rebalance/${paperAccount}`, {
        body: JSON.stringify({ mode: "FAST" }),
      });
      expect(badEnum.status).to.equal(400);
      expect(badEnum.body["code"]).to.equal("invalid_argument");
    });

    it("answers 400 for a body over the limit", async () => {
      const response = await call("POST", `/rebalance/${paperAccount}/dry-run`, {
        body: JSON.stringify({ idempotency_key: "k".repeat(1_100_000) }),
      });
      expect(response.status).to.equal(400);
      expect(response.body["message"]).to.match(/exceeds the limit of 1048576 bytes/);
    });

    it("answers 404 JSON for an unknown route", async () => {
      const response = await call("GET", "/nowhere");
      expect(response.status).to.equal(404);
      expect(response.body).to.deep.equal({
        code: "not_found",
        message: "no route for GET /nowhere",
      });
    });

    it("answers 405 naming the allowed method for a known path", async () => {
      const response = await call("DELETE", "/accounts");
      expect(response.status).to.equal(405);
      expect(response.headers.get("allow")).to.equal("GET");
    });
  });

  it("serves a watch as Server-Sent Events, over HTTP/1.1 and h2c alike, ending with its stream", async () => {
    const expected = [
      "event: position",
      "id: start",
      `data: {"run_id":"","account_id":"","mode":"unspecified","status":"unspecified","resume_token":"start"}`,
      "",
      "event: run",
      "id: after-1",
    ].join("\n");
    const response = await fetch(`${t.url}/runs:watch?account_ids=${paperAccount}`, {
      headers: bearer(currentKey),
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.equal("text/event-stream; charset=utf-8");
    const text = await response.text();
    expect(text.startsWith(expected)).to.equal(true, text);
    expect(text).to.match(/"accepted":\{"account_id":"DU111","mode":"dry_run"/);

    const session = http2.connect(t.url);
    try {
      const overH2c = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": "/runs:watch", ...bearer(currentKey) });
        let body = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (body += chunk));
        stream.on("end", () => resolve(body));
        stream.on("error", reject);
        stream.end();
      });
      expect(overH2c).to.equal(text);
    } finally {
      session.close();
    }
  });

  it("serves the same routes over h2c", async () => {
    const session = http2.connect(t.url);
    try {
      const { status, text } = await new Promise<{ status: number; text: string }>(
        (resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": `/rebalance/${paperAccount}/dry-run`,
            ...bearer(currentKey),
          });
          let status = 0;
          let text = "";
          stream.on("response", (headers) => (status = Number(headers[":status"])));
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => (text += chunk));
          stream.on("end", () => resolve({ status, text }));
          stream.on("error", reject);
          stream.end();
        },
      );
      expect(status).to.equal(200);
      expect(JSON.parse(text)).to.include({ execution_mode: "dry_run", status: "completed" });
    } finally {
      session.close();
    }
  });
});
