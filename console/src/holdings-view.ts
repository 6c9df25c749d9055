// An account's holdings, and its current weights against its strategy's targets.
import type { GetTargetsResponse, Position } from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { errorMessage } from "./error-message.js";
import { el } from "./element.js";
import { formatMoney, formatPrice, formatQuantity, formatTime, formatWeight } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { notice } from "./notice.js";
import type { ViewContext } from "./view-context.js";
import { weightChart, type WeightRow } from "./weight-chart.js";

/**
 * Holdings against the strategy's targets as they stand now (GetTargets: after the replacement
 * set, shown as fractions of net liquidation once the cash reserve is set aside). When the
 * allocation source cannot be reached the holdings still show, with the reason.
 */
export function holdingsView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "holdings-view",
    title: `Holdings of ${accountId}`,
    nav: accountNav(accountId, "holdings"),
  };
  return loadingPage(context, heading, async () => {
    const [holdings, fetched] = await Promise.all([
      withApiKey(() => client.getPositions({ accountId }, { signal })),
      withApiKey(() => client.getTargets({ accountId }, { signal })).catch(
        (error: unknown) => ({ error }) as const,
      ),
    ]);
    const found = "error" in fetched ? undefined : fetched;
    const targets = found === undefined ? new Map<string, number>() : targetWeights(found);
    const rows = weightRows(holdings.positions, targets, found !== undefined);
    return [
      el(
        "p",
        {},
        `Net liquidation ${formatMoney(holdings.netLiquidation)}, as of ${formatTime(holdings.asOf)}.`,
      ),
      "error" in fetched
        ? notice(
            `Target weights unavailable: ${errorMessage(fetched.error, context.apiUrl)}`,
            "error",
          )
        : el(
            "p",
            { class: "muted", id: "targets-source" },
            `Targets of ${fetched.strategy}${fetched.asOf ? ` as of ${fetched.asOf}` : ""}, ` +
              `with ${fetched.cashReservePercent} % kept in cash.`,
          ),
      weightChart(rows, `Current and target weights of ${accountId}`),
      positionsTable(holdings.positions, targets),
    ];
  });
}

/** Target weights as fractions of net liquidation, comparable with the current weights. */
function targetWeights(targets: GetTargetsResponse): Map<string, number> {
  const invested = (100 - targets.cashReservePercent) / 100;
  return new Map(targets.targets.map((t) => [t.symbol, t.weight * invested]));
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
