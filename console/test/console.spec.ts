import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ExecutionMode,
  OrderSide,
  OrderStatus,
  RunStatus,
  TriggerSchema,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { create } from "@bufbuild/protobuf";
import { createSimBroker, type SimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { formatMoney, formatWeight } from "../src/format.js";
import { runsPageSize } from "../src/runs-view.js";
import { launchChromium } from "./chromium.js";
import { startConsoleRebalancer, type ConsoleRebalancer } from "./console-rebalancer.js";
import { watchPageErrors } from "./page-errors.js";

const screenshots = fileURLToPath(new URL("../../test-output/console/", import.meta.url));

async function drain(stream: AsyncIterable<RebalanceResponse>): Promise<RebalanceResponse[]> {
  const events: RebalanceResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** A time as the console writes it: ISO date and minutes, then the zone. */
const isoTime = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC([+-]\d\d:\d\d)?$/;

/** Saves a full-page screenshot under test-output/console/. */
async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });
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

  it("charts an account's holdings, its targets not yet held and its cash, largest weight first", async () => {
    await open("#/accounts/DU1000002/holdings", "#holdings-view");
    const held = (await app.api.getPositions({ accountId: "DU1000002" })).positions;
    const value = await app.api.getAccountValue({ accountId: "DU1000002" });
    const wanted = await app.api.getTargets({ accountId: "DU1000002" });
    const invested = (100 - wanted.cashReservePercent) / 100;
    const rows = await tableCells(page, "#positions");
    const kinds = await page.$$eval("#positions tbody tr", (trs) =>
      trs.map((tr) => (tr as HTMLElement).dataset.kind),
    );

    // Every holding, then the targets not yet held (the ira set's VXX, PDBC, SPY), then cash.
    const notHeld = wanted.targets
      .map((t) => t.symbol)
      .filter((s) => !held.some((p) => p.symbol === s));
    expect(notHeld).to.include.members(["VXX", "PDBC", "SPY"]);
    const symbols = rows.map((row) => row[0]);
    expect(symbols.slice(0, -1)).to.have.members([...held.map((p) => p.symbol), ...notHeld]);
    expect(symbols.at(-1)).to.equal("Cash");
    expect(kinds.at(-1)).to.equal("cash");
    for (const symbol of notHeld) {
      const row = rows.find((r) => r[0] === symbol)!;
      expect(row[1]).to.equal("not held");
      const target = wanted.targets.find((t) => t.symbol === symbol)!.weight * invested;
      expect(row[5]).to.equal(formatWeight(target));
    }
    // Sorted by weight, largest first.
    const weights = held.map((p) => [p.symbol, p.weight] as const);
    const heldOrder = symbols.filter((s) => held.some((p) => p.symbol === s));
    expect(heldOrder).to.deep.equal(
      [...weights].sort((a, b) => b[1] - a[1]).map(([symbol]) => symbol),
    );
    // The cash, a row of its own with its weight of the account, thousands separated.
    const cash = rows.at(-1)!;
    expect(cash[3]).to.equal(formatMoney(value.cash));
    expect(cash[3]).to.match(/^\$\d{1,3}(,\d{3})+\.\d\d$/);
    expect(cash[4]).to.equal(formatWeight(value.cash / value.netLiquidation));

    const targets = await page.$$eval('rect[data-series="target"]', (bars) =>
      bars
        .map((bar) => [bar.parentElement!.dataset.symbol!, Number(bar.dataset.weight)] as const)
        .filter(([symbol, weight]) => weight > 0 && symbol !== "Cash"),
    );
    expect(targets.map(([symbol]) => symbol)).to.have.members(wanted.targets.map((t) => t.symbol));
    for (const [symbol, weight] of targets) {
      const target = wanted.targets.find((t) => t.symbol === symbol)!;
      expect(weight).to.be.closeTo(target.weight * invested, 1e-9);
    }
    // The ira replacement set: VXX is a target instead of the strategy's UVXY, and it is named.
    expect(targets.map(([symbol]) => symbol))
      .to.include("VXX")
      .and.not.include("UVXY");
    expect(await page.textContent("#targets-source")).to.contain("etf-blend-200-35");
    expect(await page.textContent("#replacement-set")).to.contain("Replacement set in force: ira");
    expect(await page.textContent("#holdings-view")).to.match(
      /as of \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    expect((await app.api.listRuns({ accountId: "DU1000002" })).runs).to.deep.equal([]);
    await screenshot(page, "holdings");
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

  it("shows a fresh preview of the plan in the live run's confirmation, before it is confirmed; cancelling places nothing", async () => {
    await open("#/accounts/DU1000002/run", "#run-view");
    await page.click("#start-live-run");
    const dialog = page.locator("#confirm-live-run-dialog");
    await dialog.waitFor();
    const text = await page.textContent("#confirm-live-run-text");
    expect(text).to.contain("Mode: live");
    expect(text).to.contain("account DU1000002");
    expect(await page.textContent("#confirm-live-run")).to.equal("Place orders on DU1000002");
    // The preview is a dry run made as the dialog opened; its plan is in the dialog.
    await page.waitForSelector('#confirm-live-run-preview[aria-busy="false"]');
    await page.waitForSelector('#confirm-live-run-dialog [data-outcome="completed"]');
    const [previewRun] = (await app.api.listRuns({ accountId: "DU1000002" })).runs;
    expect(previewRun!.mode).to.equal(ExecutionMode.DRY_RUN);
    const { run } = await app.api.getRun({ runId: previewRun!.runId });
    const shown = await tableCells(page, "#confirm-live-run-dialog #planned-orders");
    expect(shown.map((row) => row[1])).to.deep.equal(run!.plan!.orders.map((o) => o.symbol));
    expect(shown.length).to.be.greaterThan(0);
    expect(await page.textContent("#confirm-live-run-dialog")).to.contain(previewRun!.runId);

    expect(await page.isDisabled("#confirm-live-run")).to.equal(true);
    await page.fill("#confirm-account-input", "DU1000001");
    expect(await page.isDisabled("#confirm-live-run")).to.equal(true);
    await page.fill("#confirm-account-input", "DU1000002");
    expect(await page.isDisabled("#confirm-live-run")).to.equal(false);
    await screenshot(page, "confirm-live-run");
    await page.click("#confirm-live-run-dialog >> text=Cancel");
    await dialog.waitFor({ state: "detached" });
    expect(await page.textContent("#run-status")).to.contain("nothing was sent");
    const runs = (await app.api.listRuns({ accountId: "DU1000002" })).runs;
    expect(runs.map((r) => r.mode)).to.deep.equal([ExecutionMode.DRY_RUN]);
    expect((await app.api.listOpenOrders({ accountId: "DU1000002" })).orders).to.deep.equal([]);
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
    // Enabled once the preview is in.
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

    const runs = (await app.api.listRuns({ accountId: "DU1000002" })).runs;
    expect(runs.map((r) => r.mode)).to.deep.equal([ExecutionMode.LIVE, ExecutionMode.DRY_RUN]);
    const { run } = await app.api.getRun({ runId: runs[0]!.runId });
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
    await screenshot(page, "run-view");
  });

  it("lists runs newest first: a dry run's planned orders, a tool's protocol, ids on one line, ISO times with the zone", async () => {
    await context.close();
    context = await browser.newContext({
      // Narrow, so that ids would wrap if they could.
      viewport: { width: 800, height: 900 },
      timezoneId: "Europe/Paris",
    });
    page = await context.newPage();
    pageErrors = watchPageErrors(page);
    const dry = await drain(
      app.api.rebalance({
        accountId: "DU1000002",
        mode: ExecutionMode.DRY_RUN,
        trigger: create(TriggerSchema, { source: "console" }),
      }),
    );
    const live = await drain(
      app.api.rebalance({ accountId: "DU1000002", mode: ExecutionMode.LIVE }),
    );
    const rest = await fetch(`${app.url}/rebalance/DU1000002/dry-run`, { method: "POST" });
    const { run_id: restRunId } = (await rest.json()) as { run_id: string };
    await open("#/accounts/DU1000002/runs", "#runs-view");
    const rows = await tableCells(page, "#runs");
    const { run: dryRun } = await app.api.getRun({ runId: dry[0]!.runId });
    const { run: liveRun } = await app.api.getRun({ runId: live[0]!.runId });
    const filled = liveRun!.orders.filter((o) => o.status === OrderStatus.FILLED).length;
    expect(rows.map((row) => row.slice(1, 6))).to.deep.equal([
      [restRunId, "dry run", "rest", "completed", rows[0]![5]],
      [
        live[0]!.runId,
        "live",
        "connect",
        "completed",
        `${liveRun!.orders.length} placed, ${filled} filled`,
      ],
      [dry[0]!.runId, "dry run", "console", "completed", `${dryRun!.plan!.orders.length} planned`],
    ]);
    expect(dryRun!.plan!.orders.length).to.be.greaterThan(0);
    for (const row of rows)
      expect(row[0])
        .to.match(isoTime)
        .and.match(/UTC\+0[12]:00$/);
    // Run ids and times never wrap: the text of each such cell is laid out on one line.
    const lines = await page.$$eval("#runs td.run-id, #runs td.time", (cells) =>
      cells.map((cell) => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
      }),
    );
    expect(lines.length).to.equal(6);
    expect(new Set(lines)).to.deep.equal(new Set([1]));
    await screenshot(page, "runs");

    await page.click(`a[href="#/runs/${live[0]!.runId}"]`);
    await page.waitForSelector('#run-detail-view[aria-busy="false"]');
    expect(await page.textContent('[data-fact="Mode"]')).to.equal("live");
    expect(await page.textContent('[data-fact="Status"]')).to.equal("completed");
    expect(await page.locator("#run-detail-view [data-order-id]").count()).to.equal(
      liveRun!.orders.length,
    );
  });

  it("shows a run's cash before, after the sells and after the run, labelled, with the title below the navigation", async () => {
    const live = await drain(
      app.api.rebalance({ accountId: "DU1000002", mode: ExecutionMode.LIVE }),
    );
    const { run } = await app.api.getRun({ runId: live[0]!.runId });
    await open(`#/runs/${live[0]!.runId}`, "#run-detail-view");
    expect(await page.textContent('[data-fact="Cash before"]')).to.equal(formatMoney(run!.cash));
    expect(await page.textContent('[data-fact="Cash after sells"]')).to.equal(
      formatMoney(run!.cashAfterSells!),
    );
    expect(await page.textContent('[data-fact="Cash after run"]')).to.equal(
      formatMoney(run!.cashAfterRun!),
    );
    expect(run!.cashAfterSells).not.to.equal(run!.cash);
    expect(await page.textContent('[data-fact="Started"]')).to.match(isoTime);
    expect(await page.textContent('[data-fact="From"]')).to.equal("connect");
    // As on the other pages: the account's navigation, then the title.
    const order = await page.$$eval("#run-detail-view > *", (children) =>
      children.slice(0, 2).map((child) => (child.querySelector("nav") ? "nav" : child.tagName)),
    );
    expect(order).to.deep.equal(["nav", "H1"]);
    await screenshot(page, "run-detail");

    // A dry run has only the cash before.
    const dry = await drain(app.api.rebalance({ accountId: "DU1000002" }));
    await open(`#/runs/${dry[0]!.runId}`, "#run-detail-view");
    expect(await page.locator('[data-fact="Cash before"]').count()).to.equal(1);
    expect(await page.locator('[data-fact="Cash after sells"]').count()).to.equal(0);
  });

  it("pages the history: older runs on asking", async () => {
    for (let i = 0; i <= runsPageSize; i++) {
      await drain(app.api.rebalance({ accountId: "DU1000001" }));
    }
    await open("#/accounts/DU1000001/runs", "#runs-view");
    expect(await page.locator("#runs tbody tr").count()).to.equal(runsPageSize);
    await page.click("#older-runs-button");
    await page.waitForFunction(
      (n) => document.querySelectorAll("#runs tbody tr").length === n,
      runsPageSize + 1,
    );
    expect(await page.locator("#older-runs-button").count()).to.equal(0);
    const ids = await page.$$eval("#runs tbody tr", (rows) =>
      rows.map((row) => (row as HTMLElement).dataset.runId),
    );
    expect(new Set(ids).size).to.equal(runsPageSize + 1);
  });

  it("adds a run started elsewhere to the history as it goes, without a reload", async () => {
    const earlier = await drain(app.api.rebalance({ accountId: "DU1000002" }));
    await open("#/accounts/DU1000002/runs", "#runs-view");
    await page.waitForSelector('#runs-live[data-state="live"]');
    // Gone if the page were loaded again.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const live = await drain(
      app.api.rebalance({ accountId: "DU1000002", mode: ExecutionMode.LIVE }),
    );
    // Another account's run is not this page's.
    await drain(app.api.rebalance({ accountId: "DU1000001" }));
    const runId = live[0]!.runId;
    await page.waitForSelector(`#runs tr[data-run-id="${runId}"] td.run-status:text("completed")`);
    const { run } = await app.api.getRun({ runId });
    const filled = run!.orders.filter((o) => o.status === OrderStatus.FILLED).length;
    const rows = await tableCells(page, "#runs");
    expect(rows.map((row) => row.slice(1, 6))).to.deep.equal([
      [runId, "live", "connect", "completed", `${run!.orders.length} placed, ${filled} filled`],
      [earlier[0]!.runId, "dry run", "connect", "completed", rows[1]![5]],
    ]);
    expect(
      await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    ).to.equal(true);
  });

  it("follows the history again after the rebalancer restarts, from where it was", async () => {
    await app.close(1_000);
    const dataDir = mkdtempSync(join(tmpdir(), "console-watch-"));
    app = await startConsoleRebalancer({ dataDir });
    const port = app.port;
    await open("#/accounts/DU1000001/runs", "#runs-view");
    await page.waitForSelector('#runs-live[data-state="live"]');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const before = await drain(app.api.rebalance({ accountId: "DU1000001" }));
    await page.waitForSelector(`#runs tr[data-run-id="${before[0]!.runId}"]`);

    await app.close(1_000);
    await page.waitForSelector('#runs-live[data-state="reconnecting"]');
    app = await startConsoleRebalancer({ dataDir, port });
    const after = await drain(app.api.rebalance({ accountId: "DU1000001" }));
    await page.waitForSelector(
      `#runs tr[data-run-id="${after[0]!.runId}"] td.run-status:text("completed")`,
    );
    await page.waitForSelector('#runs-live[data-state="live"]');
    const ids = await page.$$eval("#runs tbody tr", (rows) =>
      rows.map((row) => (row as HTMLElement).dataset.runId),
    );
    expect(ids).to.deep.equal([after[0]!.runId, before[0]!.runId]);
    expect(
      await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    ).to.equal(true);
  });

  describe("open orders", () => {
    let broker: SimBroker;
    beforeEach(async () => {
      // A sim whose SPY orders never fill: one stays working for the page to show and cancel.
      await app.close(1_000);
      broker = createSimBroker({ fillDelayMs: 50, unfilled: ["SPY"] });
      app = await startConsoleRebalancer({ broker });
      await broker.placeOrder({
        accountId: "DU1000002",
        symbol: "SPY",
        side: "buy",
        quantity: 15,
        orderType: "limit",
        limitPrice: 590,
        timeInForce: "DAY",
        outsideRth: false,
        runId: "",
      });
    });

    it("lists what is working at the broker and cancels it all after the typed confirmation", async () => {
      await open("#/accounts/DU1000002/orders", "#orders-view");
      const working = (await app.api.listOpenOrders({ accountId: "DU1000002" })).orders;
      expect(working).to.have.length(1);
      const rows = await tableCells(page, "#open-orders");
      expect(rows.map((row) => [row[0], row[2], row[3]])).to.deep.equal([
        [working[0]!.orderId, "SPY", "15"],
      ]);

      await page.click("#cancel-open-orders");
      await page.locator("#confirm-cancel-orders-dialog").waitFor();
      expect(await page.textContent("#confirm-cancel-orders-text")).to.contain(
        "cancels all 1 orders working at the broker for account DU1000002",
      );
      expect(await page.isDisabled("#confirm-cancel-orders")).to.equal(true);
      await page.fill("#confirm-account-input", "DU1000001");
      expect(await page.isDisabled("#confirm-cancel-orders")).to.equal(true);
      // Escape cancels: nothing is sent.
      await page.keyboard.press("Escape");
      await page.locator("#confirm-cancel-orders-dialog").waitFor({ state: "detached" });
      expect(await page.textContent("#cancel-outcome")).to.contain("Nothing was cancelled");
      expect((await app.api.listOpenOrders({ accountId: "DU1000002" })).orders).to.have.length(1);

      await page.click("#cancel-open-orders");
      await page.fill("#confirm-account-input", "DU1000002");
      await screenshot(page, "confirm-cancel-orders");
      await page.click("#confirm-cancel-orders");
      await page.waitForSelector('[data-cancelled="1"]');
      expect(await page.textContent("#cancel-outcome")).to.contain("1 cancelled; 0 still working");
      expect(await page.textContent("#open-orders")).to.contain("No open orders.");
      expect((await app.api.listOpenOrders({ accountId: "DU1000002" })).orders).to.deep.equal([]);
      await screenshot(page, "orders");
    });
  });

  it("answers 404 for a file the console does not have", async () => {
    const response = await fetch(`${app.url}/console/nothing-here.js`);
    expect(response.status).to.equal(404);
  });
});
