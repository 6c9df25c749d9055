// The console in Chromium from a rebalancer serving HTTPS, then one requiring client certificates.
import {
  makeTestCertificates,
  type TestCertificates,
} from "@mesh/platform/testing/test-certificates";
import { readTlsFiles } from "@mesh/platform/tls-files";
import { expect } from "chai";
import type { Browser } from "playwright-core";
import { launchChromium } from "./chromium.js";
import { startConsoleRebalancer, type ConsoleRebalancer } from "./console-rebalancer.js";
import { watchPageErrors } from "./page-errors.js";

const apiKey = "console-tls-key-41c9";

describe("the console over TLS", function () {
  this.timeout(30_000);
  let browser: Browser;
  let certs: TestCertificates;
  const started: ConsoleRebalancer[] = [];

  before(async () => {
    certs = makeTestCertificates();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const app of started) await app.close(1_000);
  });

  const start = async (requireClientCertificate: boolean) => {
    const app = await startConsoleRebalancer({
      apiKeys: [apiKey],
      tls: {
        secureContext: readTlsFiles({
          certFile: certs.rebalancerCertFile,
          keyFile: certs.rebalancerKeyFile,
          caFile: certs.caFile,
        }),
        requireClientCertificate,
      },
    });
    started.push(app);
    return app;
  };

  it("loads over https, asks for the key and lists the accounts", async () => {
    const app = await start(false);
    expect(app.url).to.match(/^https:\/\/127\.0\.0\.1:/);
    // The test CA is not in Chromium's store; the connection is still TLS end to end.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const errors = watchPageErrors(page);
      const response = await page.goto(`${app.url}/console/`);
      expect((await response!.securityDetails())?.protocol).to.match(/^TLS 1\.[23]$/);
      await page.locator("#api-key-dialog").waitFor();
      await page.fill("#api-key-input", apiKey);
      await page.click("#api-key-submit");
      await page.waitForSelector('#accounts tr[data-account-id="DU1000002"]');
      expect(errors).to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it("under mTLS, works with a client certificate and gets nothing without one", async () => {
    const app = await start(true);
    const origin = new URL(app.url).origin;
    const without = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await without.newPage();
      const failure = await page.goto(`${app.url}/console/`).then(
        () => "loaded",
        (error: Error) => error.message,
      );
      expect(failure).to.not.equal("loaded");
    } finally {
      await without.close();
    }
    const withCertificate = await browser.newContext({
      ignoreHTTPSErrors: true,
      clientCertificates: [
        { origin, certPath: certs.subscriberCertFile, keyPath: certs.subscriberKeyFile },
      ],
    });
    try {
      const page = await withCertificate.newPage();
      const errors = watchPageErrors(page);
      await page.goto(`${app.url}/console/`);
      await page.locator("#api-key-dialog").waitFor();
      await page.fill("#api-key-input", apiKey);
      await page.click("#api-key-submit");
      await page.waitForSelector('#accounts tr[data-account-id="DU1000002"]');
      expect(errors).to.deep.equal([]);
    } finally {
      await withCertificate.close();
    }
  });
});
