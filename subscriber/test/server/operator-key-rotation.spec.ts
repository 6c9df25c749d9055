import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SubscriberService } from "@mesh/proto/subscriber/v1/subscriber";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import { startSubscriber, type Subscriber } from "../../src/app.js";
import { startFakeRebalancer, type FakeRebalancer } from "../support/fake-rebalancer.js";
import { scratchDir, testConfig, testLogger } from "../support/test-subscriber.js";

const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

describe("SubscriberService keys rotated without a restart", () => {
  let scratch: ReturnType<typeof scratchDir>;
  let rebalancer: FakeRebalancer;
  let subscriber: Subscriber | undefined;

  beforeEach(async () => {
    scratch = scratchDir();
    rebalancer = await startFakeRebalancer();
  });
  afterEach(async () => {
    await subscriber?.close();
    subscriber = undefined;
    await rebalancer.stop();
    scratch.remove();
  });

  /** Starts the subscriber with its keys in a file, as SUBSCRIBER_API_KEYS_FILE does. */
  const start = async (keys: string, overlapMs: number) => {
    const file = join(scratch.dir, "operator-keys");
    writeFileSync(file, keys);
    subscriber = await startSubscriber(
      {
        ...testConfig(scratch.dir, rebalancer.url, { apiKeys: keys.trim().split(",") }),
        apiKeysFile: file,
        apiKeyOverlapMs: overlapMs,
      },
      { logger: testLogger },
    );
    const client = createClient(
      SubscriberService,
      createConnectTransport({ baseUrl: subscriber.url, httpVersion: "1.1" }),
    );
    /** The call's outcome with this key: "ok" or the refusal's code. */
    const answer = (key: string) =>
      client.listEntries({}, bearer(key)).then(
        () => "ok",
        (error: unknown) => Code[ConnectError.from(error).code],
      );
    return { file, answer };
  };

  it("takes a new key from its file at once and stops taking the old one", async () => {
    const { file, answer } = await start("op-1\n", 0);
    expect(await answer("op-1")).to.equal("ok");
    expect(await answer("op-2")).to.equal("Unauthenticated");
    writeFileSync(file, "op-2\n");
    await until(async () => (await answer("op-2")) === "ok", 10_000, "the new key accepted");
    expect(await answer("op-1")).to.equal("Unauthenticated");
  });

  it("keeps accepting a removed key for the overlap, and on SIGHUP's reload too", async () => {
    const { file, answer } = await start("op-1\n", 60_000);
    writeFileSync(file, "op-2\n");
    subscriber!.reload();
    await until(async () => (await answer("op-2")) === "ok", 10_000, "the new key accepted");
    expect(await answer("op-1")).to.equal("ok");
    expect(await answer("op-3")).to.equal("Unauthenticated");
  });

  it("keeps the keys it has when the file is emptied: an empty file never turns authentication off", async () => {
    const { file, answer } = await start("op-1\n", 0);
    writeFileSync(file, "");
    // The reload is synchronous: it has failed, and kept the keys, by the time it returns.
    subscriber!.reload();
    expect(await answer("op-1")).to.equal("ok");
    expect(await answer("")).to.equal("Unauthenticated");
  });
});
