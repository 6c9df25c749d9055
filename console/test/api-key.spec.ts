import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./chromium.js";
import { startConsoleRebalancer, type ConsoleRebalancer } from "./console-rebalancer.js";
import { watchPageErrors } from "./page-errors.js";

const apiKey = "console-test-key-7f3a";

describe("the console on a rebalancer that requires an API key", function () {
  this.timeout(20_000);
  let browser: Browser;
  let app: ConsoleRebalancer;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];
  /** The Authorization header of every RPC the page sent, in order ("" when none). */
  let sentAuthorization: string[];

  before(async () => {
    browser = await launchChromium();
    app = await startConsoleRebalancer({ apiKeys: [apiKey], apiKey });
  });
  after(async () => {
    await browser?.close();
    await app?.close(1_000);
  });
  beforeEach(async () => {
    context = await browser.newContext();
    page = await openPage(context);
  });
  afterEach(async () => {
    await context.close();
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });

  async function openPage(browserContext: BrowserContext): Promise<Page> {
    const opened = await browserContext.newPage();
    pageErrors = watchPageErrors(opened);
    sentAuthorization = [];
    opened.on("request", (request) => {
      if (request.url().includes("/rebalancer.v1.RebalancerService/")) {
        sentAuthorization.push(request.headers()["authorization"] ?? "");
      }
    });
    return opened;
  }

  /** Types a key into the dialog (which another may replace at once, so no wait here). */
  async function enterKey(key: string): Promise<void> {
    await page.fill("#api-key-input", key);
    await page.click("#api-key-submit");
  }

  it("asks for the key when the server answers unauthenticated, then sends it as a bearer token", async () => {
    await page.goto(`${app.url}/console/`);
    await page.locator("#api-key-dialog").waitFor();
    expect(await page.textContent("#api-key-problem")).to.equal("The rebalancer needs an API key.");
    expect(sentAuthorization).to.deep.equal([""]);
    await enterKey(apiKey);
    await page.waitForSelector('#accounts tr[data-account-id="DU1000002"]');
    expect(sentAuthorization.length).to.be.greaterThan(1);
    expect(sentAuthorization.slice(1).every((h) => h === `Bearer ${apiKey}`)).to.equal(true);

    // A streamed call carries it too.
    await page.goto(`${app.url}/console/#/accounts/DU1000001/preview`);
    await page.click("#preview-button");
    await page.waitForSelector('[data-outcome="completed"]');
    expect(sentAuthorization.at(-1)).to.equal(`Bearer ${apiKey}`);
  });

  it("keeps the key in sessionStorage only, so a new browser session asks again", async () => {
    await page.goto(`${app.url}/console/`);
    await enterKey(apiKey);
    await page.waitForSelector("#accounts");
    const kept = await page.evaluate(() => ({
      session: Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)]),
      local: localStorage.length,
      cookie: document.cookie,
      url: location.href,
    }));
    expect(kept.session).to.deep.equal([["rebalancer.apiKey", apiKey]]);
    expect(kept.local).to.equal(0);
    expect(kept.cookie).to.equal("");
    expect(kept.url).not.to.contain(apiKey);
    expect((await context.cookies()).length).to.equal(0);

    await page.reload();
    await page.waitForSelector("#accounts");
    expect(await page.locator("#api-key-dialog").count()).to.equal(0);

    const secondSession = await browser.newContext();
    try {
      page = await openPage(secondSession);
      await page.goto(`${app.url}/console/`);
      await page.locator("#api-key-dialog").waitFor();
    } finally {
      await secondSession.close();
    }
  });

  it("asks again, saying so, when the key is refused", async () => {
    await page.goto(`${app.url}/console/`);
    await enterKey("not-the-key");
    await page.waitForSelector("#api-key-problem >> text=was not accepted");
    expect(sentAuthorization).to.include("Bearer not-the-key");
    await enterKey(apiKey);
    await page.waitForSelector("#accounts");
  });

  it("says a key is needed when the person declines to give one, and forgets a key on request", async () => {
    await page.goto(`${app.url}/console/`);
    await page.locator("#api-key-dialog").waitFor();
    await page.click("#api-key-dialog >> text=Cancel");
    await page.waitForSelector('#accounts-view[aria-busy="false"]');
    expect(await page.textContent("#accounts-view .error")).to.contain("needs an API key");

    await page.reload();
    await enterKey(apiKey);
    await page.waitForSelector("#accounts");
    await page.click("#forget-key");
    await page.locator("#api-key-dialog").waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).to.equal(0);
  });
});
