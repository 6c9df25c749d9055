// The subscriber delivering to a rebalancer that requires TLS client certificates (mTLS) and a
// bearer key, with its own ingress on HTTPS, and its key rotated on disk without a restart.
import { renameSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { join } from "node:path";
import {
  makeTestCertificates,
  type TestCertificates,
} from "@mesh/platform/testing/test-certificates";
import { readTlsFiles } from "@mesh/platform/tls-files";
import { startRebalancer } from "@mesh/rebalancer/app";
import { expect } from "chai";
import { until } from "@mesh/platform/testing/until";
import { startSubscriber, type Subscriber } from "../src/app.js";
import { createRebalancerClient } from "../src/delivery/rebalancer-client.js";
import { scratchDir, simAccountsYaml, testConfig } from "./support/test-subscriber.js";

const accountsYaml = simAccountsYaml(["DU1000002"]);

/** POSTs an event to the subscriber's HTTPS ingress, trusting the test CA. */
function postEvent(url: string, ca: Buffer, eventId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}/events/etf-blend-200-35`,
      { method: "POST", ca, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ exec: "rebalance", eventId }));
  });
}

for (const protocol of ["grpc", "connect"] as const) {
  describe(`the subscriber over mTLS (${protocol})`, function () {
    this.timeout(30_000);
    let certs: TestCertificates;
    let scratch: ReturnType<typeof scratchDir>;
    let rebalancer: Awaited<ReturnType<typeof startRebalancer>>;
    let subscriber: Subscriber;
    let acceptedKeys: readonly string[] = ["key-one"];
    let keyFile: string;

    before(async () => {
      certs = makeTestCertificates();
      scratch = scratchDir();
      writeFileSync(scratch.accountsFile, accountsYaml);
      keyFile = join(scratch.dir, "rebalancer-api-key");
      writeFileSync(keyFile, "key-one\n");
      rebalancer = await startRebalancer({
        accountsFile: scratch.accountsFile,
        dataDir: join(scratch.dir, "rebalancer"),
        host: "127.0.0.1",
        port: 0,
        apiKeys: () => acceptedKeys,
        tls: {
          secureContext: readTlsFiles({
            certFile: certs.rebalancerCertFile,
            keyFile: certs.rebalancerKeyFile,
            caFile: certs.caFile,
          }),
          requireClientCertificate: true,
        },
      });
      const config = testConfig(scratch.dir, rebalancer.url, { protocol });
      subscriber = await startSubscriber(
        {
          ...config,
          rebalancer: {
            ...config.rebalancer,
            apiKey: "key-one",
            apiKeyFile: keyFile,
            caFile: certs.caFile,
            clientCertFile: certs.subscriberCertFile,
            clientKeyFile: certs.subscriberKeyFile,
          },
          tls: { certFile: certs.subscriberCertFile, keyFile: certs.subscriberKeyFile },
        },
        {},
      );
    });
    after(async () => {
      await subscriber?.close();
      await rebalancer?.close(1000);
      scratch?.remove();
    });

    const doneCount = async () => (await subscriber.inbox.counts()).done;

    it("delivers an event received on its HTTPS ingress, the run naming its certificate", async () => {
      expect(subscriber.url).to.match(/^https:/);
      expect(await postEvent(subscriber.url, certs.ca, `${protocol}-tls-1`)).to.equal(202);
      await until(async () => (await doneCount()) === 1, 15_000, "delivered");
      const [entry] = await subscriber.inbox.list({ state: "done" });
      const reader = createRebalancerClient({
        url: rebalancer.url,
        apiKey: "key-one",
        tls: { ca: certs.ca, cert: certs.subscriberCert, key: certs.subscriberKey },
      });
      try {
        const { run } = await reader.service.getRun({ runId: entry!.runId! });
        expect(run?.trigger?.caller).to.contain("CN=subscriber");
      } finally {
        reader.close();
      }
    });

    it("sends a key replaced on disk without a restart", async () => {
      acceptedKeys = ["key-one", "key-two"];
      writeFileSync(`${keyFile}.tmp`, "key-two\n");
      renameSync(`${keyFile}.tmp`, keyFile);
      // SIGHUP does the same at once; the file watch within seconds.
      subscriber.reload();
      acceptedKeys = ["key-two"];
      expect(await postEvent(subscriber.url, certs.ca, `${protocol}-tls-2`)).to.equal(202);
      await until(async () => (await doneCount()) === 2, 15_000, "delivered with the new key");
      expect((await subscriber.inbox.counts()).dead).to.equal(0);
    });
  });
}
