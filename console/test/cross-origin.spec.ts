import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { Browser, Page, Request } from "playwright-core";
import { buildConsole } from "../build-console.js";
import { launchChromium } from "./chromium.js";
import { startConsoleRebalancer, type ConsoleRebalancer } from "./console-rebalancer.js";
import { watchPageErrors } from "./page-errors.js";
import { startPageServer, type PageServer } from "./page-server.js";

const apiKey = "cross-origin-key";

describe("the console served from another origin, calling the rebalancer with Connect JSON", function () {
  this.timeout(20_000);
  let browser: Browser;
  let allowedSite: PageServer;
  let refusedSite: PageServer;
  let app: ConsoleRebalancer;
  let page: Page;
  let pageErrors: string[];
  /** Every request the page sent to the rebalancer's RPCs. */
  let rpcs: Request[];

  before(async () => {
    browser = await launchChromium();
    // Both sites serve the same console, built once the rebalancer's URL is known; only one
    // of them is in CORS_ORIGINS.
    const consoleDir = mkdtempSync(join(tmpdir(), "console-elsewhere-"));
    allowedSite = await startPageServer(consoleDir);
    refusedSite = await startPageServer(consoleDir);
    app = await startConsoleRebalancer({
      apiKeys: [apiKey],
      apiKey,
      corsOrigins: [allowedSite.origin],
    });
    await buildConsole({ outDir: consoleDir, apiUrl: app.url });
  });
  after(async () => {
    await browser?.close();
    await app?.close(1_000);
    await allowedSite?.close();
    await refusedSite?.close();
  });
  beforeEach(async () => {
    page = await browser.newPage();
    pageErrors = watchPageErrors(page);
    rpcs = [];
    page.on("request", (request) => {
      if (request.url().startsWith(`${app.url}/rebalancer.v1.RebalancerService/`))
        rpcs.push(request);
    });
  });
  afterEach(async () => {
    await page.context().close();
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });

  it("works from an origin in CORS_ORIGINS: Connect JSON, bearer key, unary and streamed calls", async () => {
    await page.goto(`${allowedSite.origin}/`);
    await page.locator("#api-key-dialog").waitFor();
    await page.fill("#api-key-input", apiKey);
    await page.click("#api-key-submit");
    await page.waitForSelector('#accounts tr[data-account-id="DU1000001"]');

    const listAccounts = rpcs.filter((r) => r.url().endsWith("/ListAccounts")).at(-1)!;
    const headers = await listAccounts.allHeaders();
    expect(listAccounts.method()).to.equal("POST");
    expect(headers["content-type"]).to.equal("application/json");
    expect(headers["connect-protocol-version"]).to.equal("1");
    expect(headers["origin"]).to.equal(allowedSite.origin);
    expect(JSON.parse(listAccounts.postData() ?? "")).to.deep.equal({});
    const response = await listAccounts.response();
    expect(response!.status()).to.equal(200);
    expect(await response!.headerValue("access-control-allow-origin")).to.equal(allowedSite.origin);
    expect(JSON.parse(await response!.text())).to.have.property("tradingMode", "paper");

    await page.goto(`${allowedSite.origin}/#/accounts/DU1000001/preview`);
    await page.click("#preview-button");
    await page.waitForSelector('[data-outcome="completed"]');
    const rebalance = rpcs.find((r) => r.url().endsWith("/Rebalance"))!;
    expect(rebalance.headers()["content-type"]).to.equal("application/connect+json");
    expect(await page.locator("#planned-orders tbody tr").count()).to.be.greaterThan(0);
  });

  it("is refused by the browser from an origin not in CORS_ORIGINS, and says why", async () => {
    await page.goto(`${refusedSite.origin}/`);
    await page.waitForSelector('#accounts-view[aria-busy="false"]');
    const message = await page.textContent("#accounts-view .error");
    expect(message).to.contain(`Cannot reach the rebalancer at ${app.url}`);
    expect(message).to.contain(`does not allow calls from ${refusedSite.origin}`);
    expect(await page.locator("#accounts").count()).to.equal(0);
    expect(await page.locator("#api-key-dialog").count()).to.equal(0);
    // The server itself refuses the preflight, too.
    const preflight = await fetch(`${app.url}/rebalancer.v1.RebalancerService/ListAccounts`, {
      method: "OPTIONS",
      headers: { origin: refusedSite.origin, "access-control-request-method": "POST" },
    });
    expect(preflight.status).to.equal(403);
  });
});
