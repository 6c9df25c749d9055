import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { paperAccount } from "./testing/fixed-rebalancer-service.js";
import { bearer, currentKey, startTestServer, type TestServer } from "./testing/test-server.js";

describe("the contract's field rules (protovalidate)", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  /** The error of a call, or undefined when it succeeded. */
  const refusal = (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );

  /** Drains a Rebalance stream and returns its error, if any. */
  async function rebalance(
    client: ReturnType<typeof createClient<typeof RebalancerService>>,
    request: Parameters<(typeof client)["rebalance"]>[0],
  ) {
    return refusal(
      (async () => {
        for await (const _ of client.rebalance(request, { headers: bearer(currentKey) })) {
          // drained
        }
      })(),
    );
  }

  for (const [name, make] of Object.entries({
    gRPC: () => createGrpcTransport({ baseUrl: t.url }),
    "Connect JSON": () => createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }),
  })) {
    describe(`over ${name}`, () => {
      it("refuses an account id that is not letters and digits, naming the field, and runs nothing", async () => {
        const client = createClient(RebalancerService, make());
        const before = t.fixed.rebalanceRequests.length;
        const error = await rebalance(client, { accountId: "DU 1/2", mode: ExecutionMode.LIVE });
        expect(error?.code).to.equal(Code.InvalidArgument);
        expect(error?.rawMessage).to.contain("account_id");
        expect(t.fixed.rebalanceRequests.length).to.equal(before);
      });

      it("refuses an idempotency key with a control character", async () => {
        const client = createClient(RebalancerService, make());
        const error = await rebalance(client, {
          accountId: paperAccount,
          mode: ExecutionMode.LIVE,
          idempotencyKey: "evt-1\u0007",
        });
        expect(error?.code).to.equal(Code.InvalidArgument);
        expect(error?.rawMessage).to.contain("idempotency_key");
      });

      it("refuses a trigger event id over 200 characters", async () => {
        const client = createClient(RebalancerService, make());
        const error = await rebalance(client, {
          accountId: paperAccount,
          trigger: { source: "test", eventId: "e".repeat(201) },
        });
        expect(error?.code).to.equal(Code.InvalidArgument);
        expect(error?.rawMessage).to.contain("trigger.event_id");
      });

      it("refuses a ListRuns limit over 500 and an empty run id", async () => {
        const client = createClient(RebalancerService, make());
        const headers = bearer(currentKey);
        const limit = await refusal(
          client.listRuns({ accountId: paperAccount, limit: 501 }, { headers }),
        );
        expect(limit?.code).to.equal(Code.InvalidArgument);
        expect(limit?.rawMessage).to.contain("limit");
        const run = await refusal(client.getRun({ runId: "" }, { headers }));
        expect(run?.code).to.equal(Code.InvalidArgument);
        expect(run?.rawMessage).to.contain("run_id");
      });

      it("still serves a request within the rules", async () => {
        const client = createClient(RebalancerService, make());
        const error = await rebalance(client, {
          accountId: paperAccount,
          idempotencyKey: "ok-1/DU1",
        });
        expect(error).to.equal(undefined);
      });
    });
  }

  it("applies the same rules on the REST routes", async () => {
    const before = t.fixed.rebalanceRequests.length;
    const response = await fetch(`${t.url}/rebalance/DU%201`, {
      method: "POST",
      headers: bearer(currentKey),
      body: JSON.stringify({ execution_mode: "rebalance" }),
    });
    expect(response.status).to.equal(400);
    const answer = (await response.json()) as { code: string; message: string };
    expect(answer.code).to.equal("invalid_argument");
    expect(answer.message).to.contain("account_id");
    expect(t.fixed.rebalanceRequests.length).to.equal(before);
    const runs = await fetch(`${t.url}/accounts/${paperAccount}/runs?limit=1000`, {
      headers: bearer(currentKey),
    });
    expect(runs.status).to.equal(400);
  });
});
