import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ExecutionMode, OrderSide, RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { formatMoney } from "../src/format.js";
import { launchChromium } from "./chromium.js";
import { startConsoleRebalancer, type ConsoleRebalancer } from "./console-rebalancer.js";
import { watchPageErrors } from "./page-errors.js";

const screenshots = fileURLToPath(new URL("../../test-output/console/", import.meta.url));

async function drain(stream: AsyncIterable<RebalanceResponse>): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The text of each cell of each row of a table body. */
function tableCells(page: Page, selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((row) => [...(row as HTMLTableRowElement).cells].map((c) => c.textContent ?? "")),
  );
}

describe("the console served by the rebalancer at /console/", function () {
  this.timeout(20_000);
  let browser: Browser;
  let app: ConsoleRebalancer;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];

  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());
  beforeEach(async () => {
    app = await startConsoleRebalancer();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    pageErrors = watchPageErrors(page);
  });
  afterEach(async () => {
    await context.close();
    await app.close(1_000);
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });

  /** Loads a page of the console and waits until it shows what it loaded. */
  async function open(fragment: string, section: string): Promise<void> {
    await page.goto(`${app.url}/console/${fragment}`);
    await page.reload(); // goto to the same URL but for the fragment would not load anew
    await page.waitForSelector(`${section}:not([aria-busy="true"])`);
  }

  it("lists the configured accounts with strategy, type, enabled and value", async () => {
    await open("", "#accounts-view");
    await page.waitForFunction(() =>
      [...document.querySelectorAll(".account-value")].every((td) => td.textContent !== "…"),
    );
    const rows = await tableCells(page, "#accounts");
    const value = await app.api.getAccountValue({ accountId: "DU1000001" });
    expect(rows.map((row) => row.slice(0, 6))).to.deep.equal([
      ["DU1000001", "etf-blend-301-20", "paper", "yes", "yes", formatMoney(value.netLiquidation)],
      ["DU1000002", "etf-blend-200-35", "paper", "yes", "yes", rows[1]![5]],
    ]);
    expect(rows[1]![5]).to.match(/^\$[\d,]+\.\d\d$/);
    expect(await page.textContent("#accounts-view")).to.contain("trades paper accounts");
  });

  it("charts an account's holdings against its strategy's targets, before any run", async () => {
    await open("#/accounts/DU1000002/holdings", "#holdings-view");
    const held = (await app.api.getPositions({ accountId: "DU1000002" })).positions;
    const rows = await tableCells(page, "#positions");
    expect(rows.map((row) => row[0])).to.deep.equal(held.map((p) => p.symbol));
    expect(await page.locator('rect[data-series="current"]').count()).to.be.at.least(held.length);

    const wanted = await app.api.getTargets({ accountId: "DU1000002" });
    const invested = (100 - wanted.cashReservePercent) / 100;
    const targets = await page.$$eval('rect[data-series="target"]', (bars) =>
      bars
        .map((bar) => [bar.parentElement!.dataset.symbol!, Number(bar.dataset.weight)] as const)
        .filter(([, weight]) => weight > 0),
    );
    expect(targets.map(([symbol]) => symbol)).to.deep.equal(
      wanted.targets.map((t) => t.symbol).sort(),
    );
    for (const [symbol, weight] of targets) {
      const target = wanted.targets.find((t) => t.symbol === symbol)!;
      expect(weight).to.be.closeTo(target.weight * invested, 1e-9);
    }
    // The ira replacement set: VXX is held instead of the strategy's UVXY.
    expect(targets.map(([symbol]) => symbol))
      .to.include("VXX")
      .and.not.include("UVXY");
    expect(await page.textContent("#targets-source")).to.contain("etf-blend-200-35");
    expect((await app.api.listRuns({ accountId: "DU1000002" })).runs).to.deep.equal([]);
  });

  it("previews a rebalance: the planned orders and projected weights, with nothing placed", async () => {
    await open("#/accounts/DU1000001/preview", "#preview-view");
    await page.click("#preview-button");
    await page.waitForSelector('[data-outcome="completed"]');

    const runId = (await app.api.listRuns({ accountId: "DU1000001" })).runs[0]!.runId;
    const { run } = await app.api.getRun({ runId });
    expect(run!.mode).to.equal(ExecutionMode.DRY_RUN);
    expect(run!.trigger?.source).to.equal("console");
    expect(run!.orders).to.deep.equal([]);
    const planned = run!.plan!.orders;
    expect(planned.length).to.be.greaterThan(0);
    const rows = await tableCells(page, "#planned-orders");
    expect(rows.map((row) => row.slice(0, 3))).to.deep.equal(
      planned.map((o) => [
        o.side === OrderSide.SELL ? "SELL" : "BUY",
        o.symbol,
        String(o.quantity),
      ]),
    );
    const projected = await page.locator('rect[data-series="projected"]').count();
    expect(projected).to.equal(run!.plan!.weights.length);
    expect(await page.textContent("#preview-result")).to.contain(runId);
    // The broker's what-if answer for every planned order, as recorded.
    const checked = run!.plan!.preflight!.results;
    expect(checked.map((r) => r.symbol)).to.deep.equal(planned.map((o) => o.symbol));
    const preflightRows = await tableCells(page, "#preflight");
    expect(preflightRows.map((row) => [row[1], row[3]])).to.deep.equal(
      checked.map((r) => [r.symbol, r.accepted ? "accepted" : "refused"]),
    );
  });

  it("asks for a confirmation naming the account and the mode before a live run; cancelling sends nothing", async () => {
    await open("#/accounts/DU1000002/run", "#run-view");
    await page.click("#start-live-run");
    const dialog = page.locator("#confirm-live-run-dialog");
    await dialog.waitFor();
    const text = await page.textContent("#confirm-live-run-text");
    expect(text).to.contain("Mode: live");
    expect(text).to.contain("account DU1000002");
    expect(await page.textContent("#confirm-live-run")).to.equal("Place orders on DU1000002");
    expect(await page.isDisabled("#confirm-live-run")).to.equal(true);
    await page.fill("#confirm-account-input", "DU1000001");
    expect(await page.isDisabled("#confirm-live-run")).to.equal(true);
    await page.click("#confirm-live-run-dialog >> text=Cancel");
    await dialog.waitFor({ state: "detached" });
    expect(await page.textContent("#run-status")).to.contain("nothing was sent");
    expect((await app.api.listRuns({ accountId: "DU1000002" })).runs).to.deep.equal([]);
  });

  it("runs a paper account on the simulated broker and renders the stream event by event, in order", async () => {
    await open("#/accounts/DU1000002/run", "#run-view");
    // Record when each event reaches the page, to tell a stream from a page filled at the end.
    await page.evaluate(() => {
      const arrivals: { sequence: number; kind: string; at: number }[] = [];
      (window as unknown as { arrivals: typeof arrivals }).arrivals = arrivals;
      new MutationObserver((changes) => {
        for (const change of changes) {
          for (const node of change.addedNodes) {
            if (node instanceof HTMLLIElement && node.dataset.sequence) {
              const { sequence, kind } = node.dataset;
              arrivals.push({ sequence: Number(sequence), kind: kind!, at: performance.now() });
            }
          }
        }
      }).observe(document.querySelector("#run-events")!, { childList: true });
    });
    await page.click("#start-live-run");
    await page.fill("#confirm-account-input", "DU1000002");
    await page.click("#confirm-live-run");
    await page.waitForSelector('[data-outcome="completed"]', { timeout: 15_000 });

    const arrivals = await page.evaluate(
      () =>
        (window as unknown as { arrivals: { sequence: number; kind: string; at: number }[] })
          .arrivals,
    );
    expect(arrivals.map((a) => a.sequence)).to.deep.equal(arrivals.map((_, i) => i + 1));
    expect(arrivals[0]!.kind).to.equal("accepted");
    expect(arrivals.at(-1)!.kind).to.equal("completed");
    const kinds = arrivals.map((a) => a.kind);
    expect(kinds).to.include.members([
      "phase",
      "allocations",
      "plan",
      "orderSubmitted",
      "orderFilled",
    ]);
    expect(kinds.indexOf("plan")).to.be.lessThan(kinds.indexOf("orderSubmitted"));
    // Sells, then buys, each fill 50 ms after its order: the server sends the last event some
    // 100 ms after the plan, and the page showed the plan while the run went on.
    const planShown = arrivals.find((a) => a.kind === "plan")!.at;
    expect(arrivals.at(-1)!.at - planShown).to.be.greaterThan(20);

    const runId = (await app.api.listRuns({ accountId: "DU1000002" })).runs[0]!.runId;
    const { run } = await app.api.getRun({ runId });
    expect(run!.mode).to.equal(ExecutionMode.LIVE);
    expect(run!.status).to.equal(RunStatus.COMPLETED);
    const shown = await page.$$eval("#run-orders tbody tr", (rows) =>
      rows.map((row) => [
        (row as HTMLElement).dataset.orderId,
        (row as HTMLElement).dataset.status,
      ]),
    );
    expect(shown).to.have.deep.members(run!.orders.map((o) => [o.orderId, "filled"]));
    expect(shown.length).to.be.greaterThan(0);

    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: `${screenshots}run-view.png`, fullPage: true });
  });

  it("lists an account's runs, newest first, and opens one from GetRun", async () => {
    await drain(app.api.rebalance({ accountId: "DU1000002", mode: ExecutionMode.DRY_RUN }));
    const live = await drain(
      app.api.rebalance({ accountId: "DU1000002", mode: ExecutionMode.LIVE }),
    );
    await open("#/accounts/DU1000002/runs", "#runs-view");
    const rows = await tableCells(page, "#runs");
    expect(rows.map((row) => [row[1], row[2], row[4]])).to.deep.equal([
      [live[0]!.runId, "live", "completed"],
      [rows[1]![1], "dry run", "completed"],
    ]);

    await page.click(`a[href="#/runs/${live[0]!.runId}"]`);
    await page.waitForSelector('#run-detail-view[aria-busy="false"]');
    expect(await page.textContent('[data-fact="Mode"]')).to.equal("live");
    expect(await page.textContent('[data-fact="Status"]')).to.equal("completed");
    const { run } = await app.api.getRun({ runId: live[0]!.runId });
    expect(await page.locator("#run-detail-view [data-order-id]").count()).to.equal(
      run!.orders.length,
    );
  });

  it("answers 404 for a file the console does not have", async () => {
    const response = await fetch(`${app.url}/console/nothing-here.js`);
    expect(response.status).to.equal(404);
  });
});
