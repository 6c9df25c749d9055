import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { freePort } from "@mesh/platform/testing/free-port";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startSubscriber, type Subscriber } from "../../subscriber/src/app.js";
import { loadConfig } from "../../subscriber/src/config.js";
import { formatTime } from "../src/format.js";
import { launchChromium } from "./chromium.js";
import {
  accountsFile,
  startConsoleRebalancer,
  type ConsoleRebalancer,
} from "./console-rebalancer.js";
import { watchPageErrors } from "./page-errors.js";

const screenshots = fileURLToPath(new URL("../../test-output/console/", import.meta.url));
const channel = "etf-blend-301-20";
const account = "DU1000001";
/** One key for both services, as `npm start` arranges: the console asks for it once. */
const apiKey = "events-console-key";

/** The text of each cell of each row of a table body. */
function tableCells(page: Page, selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((row) => [...(row as HTMLTableRowElement).cells].map((c) => c.textContent ?? "")),
  );
}

describe("the console's Events and Dead letters pages, on a real subscriber", function () {
  this.timeout(30_000);
  let browser: Browser;
  let dataDir: string;
  let subscriber: Subscriber;
  let app: ConsoleRebalancer;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];

  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());
  beforeEach(async () => {
    // The rebalancer is down at first, for longer than DELIVERY_MAX_AGE: the subscriber gives its
    // events up as dead letters with the reason, as it would in production.
    const rebalancerPort = await freePort();
    const rebalancerUrl = `http://127.0.0.1:${rebalancerPort}`;
    dataDir = mkdtempSync(join(tmpdir(), "console-subscriber-"));
    const config = loadConfig({
      ACCOUNTS_FILE: accountsFile,
      DATA_DIR: dataDir,
      SUBSCRIBER_PORT: "0",
      REBALANCER_API_URL: rebalancerUrl,
      SUBSCRIBER_CORS_ORIGINS: rebalancerUrl,
      SUBSCRIBER_API_KEYS: apiKey,
      REBALANCER_API_KEY: apiKey,
      DELIVERY_MAX_AGE: "1",
      METRICS_PORT: "0",
      LOG_LEVEL: "silent",
      LOG_FORMAT: "json",
    });
    // The failed deliveries open the circuit; a test should not wait its 30 s to see the re-drive.
    subscriber = await startSubscriber({
      ...config,
      delivery: { ...config.delivery, breakerHalfOpenAfterMs: 200 },
    });
    for (const eventId of ["ev-redrive", "ev-discard"]) {
      const res = await fetch(`${subscriber.url}/events/${channel}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ exec: "rebalance", eventId }),
      });
      expect(res.status).to.equal(202);
    }
    await until(async () => (await subscriber.inbox.counts()).dead === 2, 20_000, "dead letters");
    app = await startConsoleRebalancer({
      host: "127.0.0.1",
      port: rebalancerPort,
      consoleSubscriberUrl: subscriber.url,
      apiKeys: [apiKey],
      apiKey,
    });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    pageErrors = watchPageErrors(page);
  });
  afterEach(async () => {
    await context?.close();
    await app?.close(1_000);
    await subscriber?.close();
    rmSync(dataDir, { recursive: true, force: true });
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });

  async function open(fragment: string, section: string): Promise<void> {
    await page.goto(`${app.url}/console/${fragment}`);
    await page.reload();
    await page.waitForSelector(`${section}:not([aria-busy="true"])`);
  }

  /** A time as the console shows it, in the browser's zone. */
  async function localTime(ms: number): Promise<string> {
    const offset = await page.evaluate((at) => -new Date(at).getTimezoneOffset(), ms);
    return formatTime(timestampFromMs(ms), offset);
  }

  /** The first page of a test: the subscriber refuses the call without a key, the console asks. */
  async function openAskingForKey(fragment: string, section: string): Promise<void> {
    await page.goto(`${app.url}/console/${fragment}`);
    await page.locator("#api-key-dialog").waitFor();
    await page.fill("#api-key-input", apiKey);
    await page.click("#api-key-submit");
    await page.waitForSelector(`${section}:not([aria-busy="true"])`);
  }

  it("shows the events and the dead letters with their reason, re-drives one to a run and discards the other", async () => {
    await openAskingForKey("#/events", "#events-view");
    const events = await tableCells(page, "#events");
    expect(events.map((row) => [row[1], row[2], row[3], row[4]])).to.deep.equal([
      ["ev-discard (rebalance)", channel, account, "dead"],
      ["ev-redrive (rebalance)", channel, account, "dead"],
    ]);
    expect(events[0]![6]).to.contain("gave up after");

    await page.click('a[href="#/dead-letters"]');
    await page.waitForSelector('#dead-letters-view:not([aria-busy="true"]) #dead-letters');
    const dead = await tableCells(page, "#dead-letters");
    expect(dead.map((row) => row[1])).to.deep.equal([
      "ev-discard (rebalance)",
      "ev-redrive (rebalance)",
    ]);
    expect(dead[1]![5]).to.match(/gave up after \d+ attempts over \d+ s: /);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}dead-letters.png`, fullPage: true });

    // Re-drive: the same typed confirmation as a live run.
    const redriven = await subscriber.inbox
      .list({ state: "dead" })
      .then((all) => all.find((e) => e.eventKey === "ev-redrive"));
    await page.click(`tr[data-entry-id="${redriven!.id}"] button.redrive`);
    await page.waitForSelector("#confirm-redrive-dialog");
    expect(await page.textContent("#confirm-redrive-text")).to.contain(
      `new run on account ${account}`,
    );
    expect(await page.isDisabled("#confirm-redrive")).to.equal(true);
    await page.fill("#confirm-account-input", "DU100000");
    expect(await page.isDisabled("#confirm-redrive")).to.equal(true);
    await page.fill("#confirm-account-input", account);
    await page.click("#confirm-redrive");
    await page.waitForSelector("#dead-letter-result .success");
    expect(await page.textContent("#dead-letter-result")).to.contain("pending again as a new run");
    expect(await page.$(`tr[data-entry-id="${redriven!.id}"]`)).to.equal(null);

    // Delivered: the rebalancer, up now, ran it, and the Events page links to the run.
    const done = await until(
      async () => {
        const entry = await subscriber.inbox.get(redriven!.id);
        return entry?.state === "done" ? entry : undefined;
      },
      20_000,
      "the re-driven event delivered",
    );
    await open("#/events", "#events-view");
    const row = `#events tr[data-entry-id="${redriven!.id}"]`;
    expect(await page.textContent(`${row} .entry-state`)).to.equal("done");
    await page.click(`${row} .run-id a`);
    await page.waitForSelector('#run-detail-view:not([aria-busy="true"])');
    expect(await page.textContent("#run-detail-view h1")).to.equal(`Run ${done.runId}`);
    const { run } = await app.api.getRun({ runId: done.runId });
    expect(run?.accountId).to.equal(account);
    expect(run?.trigger?.eventId).to.equal("ev-redrive");

    // Discard: confirmed the same way; the entry stays, as discarded, and never runs.
    await open("#/dead-letters", "#dead-letters-view");
    const discarded = await subscriber.inbox.list({ state: "dead" });
    expect(discarded.map((e) => e.eventKey)).to.deep.equal(["ev-discard"]);
    await page.click(`tr[data-entry-id="${discarded[0]!.id}"] button.discard`);
    await page.waitForSelector("#confirm-discard-dialog");
    expect(await page.isDisabled("#confirm-discard")).to.equal(true);
    await page.fill("#confirm-account-input", account);
    await page.click("#confirm-discard");
    await page.waitForSelector("#dead-letter-result .success");
    expect((await subscriber.inbox.get(discarded[0]!.id))?.state).to.equal("discarded");
    await open("#/events", "#events-view");
    expect(
      await page.textContent(`#events tr[data-entry-id="${discarded[0]!.id}"] .entry-state`),
    ).to.equal("discarded");
    await page.screenshot({ path: `${screenshots}events.png`, fullPage: true });
  });

  it("shows the realtime gaps above the events and acknowledges a loss once its channel is typed", async () => {
    // A gap_unrecoverable record, as the recovery makes one when history does not reach back.
    const opened = await subscriber.inbox.gaps.open({
      channel,
      from: Date.parse("2026-12-01T09:00:05Z"),
      to: Date.parse("2026-12-01T09:20:45Z"),
      cause: "not resumed",
      openedAt: Date.parse("2026-12-01T09:21:00Z"),
    });
    const { record: lost } = await subscriber.inbox.gaps.giveUp(opened.id, {
      until: opened.to,
      reason: "history does not reach back to the gap's start",
      at: Date.parse("2026-12-01T09:21:30Z"),
    });
    const recovering = await subscriber.inbox.gaps.open({
      channel: "etf-income-10",
      from: Date.now() - 60_000,
      to: Date.now(),
      cause: "start-up",
      openedAt: Date.now(),
    });
    await subscriber.inbox.gaps.failed(recovering.id, {
      error: "history unavailable (500)",
      at: Date.now(),
    });
    await openAskingForKey("#/events", "#events-view");
    const lostRow = `#lost-gaps-table tr[data-gap-id="${lost.id}"]`;
    const [shown] = await tableCells(page, "#lost-gaps-table");
    expect(shown!.slice(0, 5)).to.deep.equal([
      channel,
      `${await localTime(lost.from)} – ${await localTime(lost.to)}`,
      "history does not reach back to the gap's start",
      await localTime(lost.closedAt!),
      "not yet",
    ]);
    expect(await page.getAttribute(`${lostRow} .stretch`, "title")).to.equal(
      "from 2026-12-01T09:00:05.000Z to 2026-12-01T09:20:45.000Z",
    );
    const [open] = await tableCells(page, "#open-gaps-table");
    expect([open![0], open![2], open![4]]).to.deep.equal([
      "etf-income-10",
      "start-up",
      "1: history unavailable (500)",
    ]);
    // The gaps come before the events.
    expect(
      await page.$eval("#lost-gaps", (gaps) =>
        Boolean(
          gaps.compareDocumentPosition(document.querySelector("#events")!) &
          Node.DOCUMENT_POSITION_FOLLOWING,
        ),
      ),
    ).to.equal(true);
    await page.screenshot({ path: `${screenshots}events-gaps.png`, fullPage: true });

    // Cancelled: nothing changes.
    await page.click(`${lostRow} button.acknowledge`);
    await page.waitForSelector("#confirm-acknowledge-gap-dialog");
    await page.click('#confirm-acknowledge-gap-dialog button:has-text("Cancel")');
    await page.waitForSelector("#confirm-acknowledge-gap-dialog", { state: "detached" });
    expect((await subscriber.inbox.gaps.unacknowledged()).map((g) => g.id)).to.deep.equal([
      lost.id,
    ]);

    // Confirmed by typing the channel in full.
    await page.click(`${lostRow} button.acknowledge`);
    await page.waitForSelector("#confirm-acknowledge-gap-dialog");
    expect(await page.textContent("#confirm-acknowledge-gap-text")).to.contain(
      `Messages published on ${channel} from 2026-12-01T09:00:05.000Z to 2026-12-01T09:20:45.000Z may be lost for good`,
    );
    await page.fill("#confirm-account-input", "etf-blend-301");
    expect(await page.isDisabled("#confirm-acknowledge-gap")).to.equal(true);
    await page.fill("#confirm-account-input", channel);
    await page.click("#confirm-acknowledge-gap");
    await page.waitForSelector("#gap-result .success");
    const acknowledged = await subscriber.inbox.gaps.get(lost.id);
    expect(acknowledged?.acknowledgedBy).to.match(/^console \(key [0-9a-f]{8}\)$/);
    expect(await page.textContent(`${lostRow} .acknowledged-by`)).to.equal(
      `${acknowledged!.acknowledgedBy}, ${await localTime(acknowledged!.acknowledgedAt!)}`,
    );
    expect(await page.$(`${lostRow} button.acknowledge`)).to.equal(null);
    const health = (await (
      await fetch(`${subscriber.url}/health`, { headers: { authorization: `Bearer ${apiKey}` } })
    ).json()) as { problems?: string[] };
    expect((health.problems ?? []).filter((p) => p.startsWith("gap_unrecoverable"))).to.deep.equal(
      [],
    );
  });

  it("shows the events of one state when asked", async () => {
    await openAskingForKey("#/events", "#events-view");
    const shown = async (label: string) => {
      await page.selectOption("#events-state", { label });
      await page.waitForSelector('#events-list:not([aria-busy="true"])');
      return page.$$eval("#events tbody .entry-state", (cells) => cells.map((c) => c.textContent));
    };
    expect(await shown("dead")).to.deep.equal(["dead", "dead"]);
    expect(await shown("done")).to.deep.equal([]);
    expect(await page.textContent("#events-list")).to.contain("No events in this state.");
    expect(await shown("every state")).to.have.length(2);
  });

  it("leaves a dead letter alone when the confirmation is cancelled", async () => {
    await openAskingForKey("#/dead-letters", "#dead-letters-view");
    await page.click("#dead-letters tbody tr:first-child button.redrive");
    await page.waitForSelector("#confirm-redrive-dialog");
    await page.click('#confirm-redrive-dialog button:has-text("Cancel")');
    await page.waitForSelector("#confirm-redrive-dialog", { state: "detached" });
    expect((await subscriber.inbox.counts()).dead).to.equal(2);
    expect(await tableCells(page, "#dead-letters")).to.have.length(2);
  });
});

describe("the console's Events page without a subscriber configured", function () {
  this.timeout(20_000);
  let browser: Browser;
  let app: ConsoleRebalancer;

  before(async () => {
    browser = await launchChromium();
    app = await startConsoleRebalancer();
  });
  after(async () => {
    await app?.close(1_000);
    await browser?.close();
  });

  it("says how to tell it where the subscriber is", async () => {
    const page = await browser.newPage();
    const pageErrors = watchPageErrors(page);
    await page.goto(`${app.url}/console/#/events`);
    await page.waitForSelector('#events-view:not([aria-busy="true"]) .notice.error');
    expect(await page.textContent("#events-view .notice")).to.contain("CONSOLE_SUBSCRIBER_URL");
    await page.context().close();
    expect(pageErrors).to.deep.equal([]);
  });
});
