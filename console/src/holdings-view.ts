// An account's holdings, and its current weights against the targets of its latest plan.
import type { Position, Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { el } from "./element.js";
import { formatMoney, formatPrice, formatQuantity, formatTime, formatWeight } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { notice } from "./notice.js";
import { routeHref } from "./route.js";
import type { ViewContext } from "./view-context.js";
import { weightChart, type WeightRow } from "./weight-chart.js";

/**
 * Target weights are not part of the holdings: they come from the newest run with a plan (after
 * replacement sets and the cash reserve), and the page says which run.
 */
export function holdingsView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "holdings-view",
    title: `Holdings of ${accountId}`,
    nav: accountNav(accountId, "holdings"),
  };
  return loadingPage(context, heading, async () => {
    const [holdings, history] = await Promise.all([
      withApiKey(() => client.getPositions({ accountId }, { signal })),
      withApiKey(() => client.listRuns({ accountId, limit: 20 }, { signal })),
    ]);
    const planned = history.runs.find((run) => (run.plan?.weights.length ?? 0) > 0);
    const targets = planned === undefined ? new Map<string, number>() : targetWeights(planned);
    const rows = weightRows(holdings.positions, targets, planned !== undefined);
    return [
      el(
        "p",
        {},
        `Net liquidation ${formatMoney(holdings.netLiquidation)}, as of ${formatTime(holdings.asOf)}.`,
      ),
      planned === undefined
        ? notice("No target weights yet: preview a rebalance to fetch the strategy's targets.")
        : el(
            "p",
            { class: "muted", id: "targets-source" },
            "Targets from run ",
            el(
              "a",
              { href: routeHref({ page: "run-detail", runId: planned.runId }) },
              planned.runId,
            ),
            ` of ${formatTime(planned.createdAt)}.`,
          ),
      weightChart(rows, `Current and target weights of ${accountId}`),
      positionsTable(holdings.positions, targets),
    ];
  });
}

function targetWeights(run: Run): Map<string, number> {
  return new Map(run.plan!.weights.map((w) => [w.symbol, w.targetWeight]));
}

function weightRows(
  positions: readonly Position[],
  targets: ReadonlyMap<string, number>,
  withTargets: boolean,
): WeightRow[] {
  const symbols = [...new Set([...positions.map((p) => p.symbol), ...targets.keys()])].sort();
  return symbols.map((symbol) => ({
    symbol,
    current: positions.find((p) => p.symbol === symbol)?.weight ?? 0,
    target: withTargets ? (targets.get(symbol) ?? 0) : undefined,
  }));
}

function positionsTable(
  positions: readonly Position[],
  targets: ReadonlyMap<string, number>,
): HTMLElement {
  const number = { class: "number" };
  return el(
    "table",
    { id: "positions" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", {}, "Symbol"),
        el("th", number, "Shares"),
        el("th", number, "Price"),
        el("th", number, "Value"),
        el("th", number, "Weight"),
        el("th", number, "Target"),
      ),
    ),
    el(
      "tbody",
      {},
      ...positions.map((position) =>
        el(
          "tr",
          { "data-symbol": position.symbol },
          el("td", {}, position.symbol),
          el("td", number, formatQuantity(position.quantity)),
          el("td", number, formatPrice(position.price)),
          el("td", number, formatMoney(position.marketValue, position.currency || undefined)),
          el("td", number, formatWeight(position.weight)),
          el(
            "td",
            number,
            targets.has(position.symbol) ? formatWeight(targets.get(position.symbol)!) : "—",
          ),
        ),
      ),
    ),
  );
}
