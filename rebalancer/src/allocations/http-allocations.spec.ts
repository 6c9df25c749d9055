import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseAccounts, type Account } from "@mesh/platform/accounts";
import { expect } from "chai";
import { createLogger } from "@mesh/platform/logger";
import { AllocationError } from "./allocation-error.js";
import { createHttpAllocations, type HttpAllocationsOptions } from "./http-allocations.js";

const key = "sk-test-4f1c9e";

/** A real HTTP server on 127.0.0.1 that answers with the next scripted answer (the last one repeats). */
interface ScriptedApi {
  url: string;
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

type Answer = (res: ServerResponse, headers: IncomingHttpHeaders) => void;

const servers: ScriptedApi[] = [];

async function api(...answers: Answer[]): Promise<ScriptedApi> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    const answer = answers[Math.min(requests.length, answers.length) - 1]!;
    answer(res, req.headers);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const scripted: ScriptedApi = {
    url: `http://127.0.0.1:${port}/strategies/etf-blend-301-20`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(scripted);
  return scripted;
}

const json =
  (body: unknown, status = 200): Answer =>
  (res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
const status =
  (code: number, body = ""): Answer =>
  (res) => {
    res.writeHead(code, { "content-type": "text/plain" });
    res.end(body);
  };
/** Never answers: the client has to time out. */
const silence: Answer = () => {};

const published = {
  status: "success",
  data: {
    allocations: [
      { symbol: "EDC", allocation: 0.2141 },
      { symbol: "QLD", allocation: 0.1779 },
      { symbol: "QQQ", allocation: 0.141 },
      { symbol: "BTAL", allocation: 0.2817 },
      { symbol: "SPXL", allocation: 0.0368 },
      { symbol: "TQQQ", allocation: 0.1475 },
    ],
    name: "etf-blend-301-20",
    strategy_long_name: "ETF Blend 301-20",
    last_rebalance_on: "2025-06-24",
    as_of: "2025-06-24",
  },
};

function account(url: string): Account {
  const yaml = `accounts: [{ account_id: DU1, strategy: etf-blend-301-20, allocation_url: "${url}" }]`;
  return parseAccounts(yaml, "test.yaml").accounts[0]!;
}

/** Small timeouts and backoffs: every test stays well under a second. */
const fast: HttpAllocationsOptions = {
  apiKey: key,
  timeoutMs: 200,
  attempts: 4,
  initialBackoffMs: 5,
  maxBackoffMs: 20,
  breakerThreshold: 6,
  halfOpenAfterMs: 150,
};

async function failure(promise: Promise<unknown>): Promise<AllocationError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AllocationError);
    expect((err as Error).message).not.to.include(key);
    return err as AllocationError;
  }
  throw new Error("expected the request to fail");
}

describe("createHttpAllocations", () => {
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("returns the published targets, the account's strategy and as_of", async () => {
    const server = await api(json(published));
    const result = await createHttpAllocations(fast).targets(account(server.url));
    expect(result.strategy).to.equal("etf-blend-301-20");
    expect(result.asOf).to.equal("2025-06-24");
    expect(result.targets.map((t) => [t.symbol, t.weight])).to.deep.equal(
      published.data.allocations.map((a) => [a.symbol, a.allocation]),
    );
    expect(server.requests[0]!.accept).to.equal("application/json");
  });

  it("sends the API key in x-api-key by default", async () => {
    const server = await api(json(published));
    await createHttpAllocations(fast).targets(account(server.url));
    expect(server.requests[0]!["x-api-key"]).to.equal(key);
    expect(server.requests[0]!.authorization).to.equal(undefined);
  });

  it("sends the key as a Bearer token when the header is Authorization", async () => {
    const server = await api(json(published));
    await createHttpAllocations({ ...fast, apiKeyHeader: "Authorization" }).targets(
      account(server.url),
    );
    expect(server.requests[0]!.authorization).to.equal(`Bearer ${key}`);
    expect(server.requests[0]!["x-api-key"]).to.equal(undefined);
  });

  it("sends the key in any other header it is told to use", async () => {
    const server = await api(json(published));
    await createHttpAllocations({ ...fast, apiKeyHeader: "X-Strategy-Key" }).targets(
      account(server.url),
    );
    expect(server.requests[0]!["x-strategy-key"]).to.equal(key);
  });

  it("sends no key header when no key is configured", async () => {
    const server = await api(json(published));
    await createHttpAllocations({ ...fast, apiKey: undefined }).targets(account(server.url));
    expect(server.requests[0]!["x-api-key"]).to.equal(undefined);
    expect(server.requests[0]!.authorization).to.equal(undefined);
  });

  it("retries a 503 and returns the answer that follows", async () => {
    const server = await api(status(503), json(published));
    const result = await createHttpAllocations(fast).targets(account(server.url));
    expect(result.targets).to.have.length(6);
    expect(server.requests).to.have.length(2);
  });

  it("retries a 429 (rate limited)", async () => {
    const server = await api(status(429), status(429), json(published));
    await createHttpAllocations(fast).targets(account(server.url));
    expect(server.requests).to.have.length(3);
  });

  it("gives up after the configured attempts and says what the last one got", async () => {
    const server = await api(status(503));
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.code).to.equal("unavailable");
    expect(err.retryable).to.equal(true);
    expect(err.message).to.equal(
      `allocation API returned 503 Service Unavailable after 4 attempts (GET ${server.url})`,
    );
    expect(server.requests).to.have.length(4);
  });

  it("reports an API nobody listens on as unreachable after its attempts", async () => {
    const server = await api(json(published));
    await server.close();
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.code).to.equal("unavailable");
    expect(err.message).to.match(
      /^allocation API was unreachable \(connect ECONNREFUSED 127\.0\.0\.1:\d+\) after 4 attempts/,
    );
  });

  it("times out an API that does not answer, and retries it", async () => {
    const server = await api(silence);
    const started = Date.now();
    const err = await failure(
      createHttpAllocations({ ...fast, timeoutMs: 50, attempts: 2 }).targets(account(server.url)),
    );
    expect(err.message).to.equal(
      `allocation API did not answer within 50 ms after 2 attempts (GET ${server.url})`,
    );
    expect(server.requests).to.have.length(2);
    expect(Date.now() - started).to.be.below(1000);
  });

  it("when the API is down: retries, then opens the circuit, fails fast and shows it in health", async () => {
    const server = await api(status(503));
    const allocations = createHttpAllocations({ ...fast, attempts: 4, breakerThreshold: 6 });
    const first = await failure(allocations.targets(account(server.url)));
    expect(first.message).to.include("returned 503 Service Unavailable after 4 attempts");
    expect(allocations.health().ok).to.equal(true);

    // Two more failures reach the threshold of six: the circuit opens during this request.
    const second = await failure(allocations.targets(account(server.url)));
    expect(server.requests).to.have.length(6);
    expect(second.message).to.match(
      /^allocation API at 127\.0\.0\.1:\d+ is failing: circuit open after 6 consecutive failures \(last: returned 503 Service Unavailable\); not asking again until \d{4}-\d\d-\d\dT[\d:.]+Z \(GET http:\/\/127\.0\.0\.1:\d+\/strategies\/etf-blend-301-20, 2 attempts in this request\)$/,
    );
    expect(second.retryable).to.equal(true);

    // While open, no request reaches the API.
    const third = await failure(allocations.targets(account(server.url)));
    expect(third.message).to.include("circuit open");
    expect(server.requests).to.have.length(6);
    const health = allocations.health();
    expect(health.ok).to.equal(false);
    expect(health.detail).to.match(
      /127\.0\.0\.1:\d+: circuit open since .* after 6 consecutive failures/,
    );
  });

  it("closes the circuit again once a trial request succeeds", async () => {
    const server = await api(status(500), status(500), json(published));
    const allocations = createHttpAllocations({ ...fast, attempts: 1, breakerThreshold: 2 });
    await failure(allocations.targets(account(server.url)));
    await failure(allocations.targets(account(server.url)));
    expect(allocations.health().ok).to.equal(false);
    // Half-open comes from the breaker's clock (halfOpenAfterMs: 150), not an event: wait it out.
    await new Promise((resolve) => setTimeout(resolve, 170));
    const result = await allocations.targets(account(server.url));
    expect(result.targets).to.have.length(6);
    expect(allocations.health()).to.deep.include({ ok: true });
    expect(allocations.health().detail).to.match(/reachable, circuit closed$/);
  });

  it("keeps one circuit per host: a failing API does not block another", async () => {
    const down = await api(status(502));
    const up = await api(json(published));
    const allocations = createHttpAllocations({ ...fast, attempts: 1, breakerThreshold: 1 });
    await failure(allocations.targets(account(down.url)));
    expect((await allocations.targets(account(up.url))).targets).to.have.length(6);
    expect(allocations.health().detail)
      .to.include("circuit open")
      .and.include("reachable, circuit closed");
  });

  it("does not retry a 4xx, and says which status came back and what to check", async () => {
    const server = await api(status(404, "no such strategy"));
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.code).to.equal("unavailable");
    expect(err.retryable).to.equal(false);
    expect(err.message).to.equal(
      `allocation API returned 404 Not Found (GET ${server.url}): "no such strategy"; ` +
        "check the account's allocation URL and strategy name",
    );
    expect(server.requests).to.have.length(1);
  });

  it("points at the key on a 401 without revealing it, and does not count it against the circuit", async () => {
    const server = await api(status(401, `bad key ${key}`));
    const allocations = createHttpAllocations({ ...fast, breakerThreshold: 1 });
    const err = await failure(allocations.targets(account(server.url)));
    expect(err.message).to.equal(
      `allocation API returned 401 Unauthorized (GET ${server.url}): "bad key [redacted]"; ` +
        "check the API key and the header that carries it (x-api-key)",
    );
    expect(server.requests).to.have.length(1);
    expect(allocations.health().ok).to.equal(true);
  });

  it("refuses an answer that is not JSON, without retrying", async () => {
    const server = await api((res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Maintenance</body></html>");
    });
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.code).to.equal("invalid");
    expect(err.message).to.equal(
      `allocation API answered something that is not JSON (GET ${server.url}, text/html): ` +
        '"<html><body>Maintenance</body></html>"',
    );
    expect(server.requests).to.have.length(1);
  });

  it('refuses status "error" with what the provider said', async () => {
    const server = await api(json({ status: "error", message: "subscription expired" }));
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.code).to.equal("invalid");
    expect(err.message).to.equal(
      `allocation API (GET ${server.url}): status is "error", not "success" ` +
        "(the provider says: subscription expired)",
    );
  });

  it("refuses bad weights, naming each one, without retrying", async () => {
    const body = structuredClone(published);
    body.data.allocations[2]!.allocation = 1.5;
    (body.data.allocations[4] as { allocation: unknown }).allocation = null;
    const server = await api(json(body));
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.code).to.equal("invalid");
    expect(err.message).to.equal(
      `allocation API (GET ${server.url}): data.allocations[2].allocation: must be between 0 and 1, got 1.5; ` +
        "data.allocations[4].allocation: must be a number between 0 and 1, got null",
    );
    expect(server.requests).to.have.length(1);
  });

  it("refuses weights that sum above 1 and an empty list", async () => {
    const over = structuredClone(published);
    over.data.allocations[0]!.allocation = 0.3;
    const empty = { status: "success", data: { ...published.data, allocations: [] } };
    const server = await api(json(over), json(empty));
    const allocations = createHttpAllocations(fast);
    expect((await failure(allocations.targets(account(server.url)))).message).to.include(
      "data.allocations: weights sum to 1.0849, above 1 (tolerance 0.005)",
    );
    expect((await failure(allocations.targets(account(server.url)))).message).to.include(
      "data.allocations: empty; the source published no targets",
    );
  });

  it("does not follow a redirect, so the key stays with its host", async () => {
    const elsewhere = await api(json(published));
    const server = await api((res) => {
      res.writeHead(302, { location: `${elsewhere.url}?token=abc` });
      res.end();
    });
    const err = await failure(createHttpAllocations(fast).targets(account(server.url)));
    expect(err.retryable).to.equal(false);
    expect(err.message).to.equal(
      `allocation API redirected (302) GET ${server.url} to ${elsewhere.url}?...; ` +
        "configure the final URL (redirects are not followed, so that the API key stays with its host)",
    );
    expect(elsewhere.requests).to.have.length(0);
  });

  it("keeps the query string, which may hold a secret, out of messages", async () => {
    const server = await api(status(400));
    const err = await failure(
      createHttpAllocations(fast).targets(account(`${server.url}?apikey=secret123`)),
    );
    expect(err.message).to.include(`(GET ${server.url}?...)`).and.not.include("secret123");
  });

  it("refuses a key that cannot be sent as a header, without showing it", () => {
    expect(() => createHttpAllocations({ apiKey: "abc\n" })).to.throw(
      RangeError,
      "apiKey: must be printable ASCII without spaces or line breaks",
    );
  });

  it("never logs the key", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      name: "test",
      level: "debug",
      destination: { write: (line: string) => lines.push(line) },
    });
    const server = await api(status(503, `echo ${key}`), json(published));
    await createHttpAllocations({ ...fast, logger }).targets(account(server.url));
    expect(lines.join("")).to.include("retrying").and.not.include(key);
  });
});
