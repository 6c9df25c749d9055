// An account's holdings and cash, and its current weights against its strategy's targets.
import type {
  Account,
  GetAccountValueResponse,
  GetTargetsResponse,
  Position,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { accountNav } from "./account-nav.js";
import { errorMessage } from "./error-message.js";
import { el } from "./element.js";
import { formatMoney, formatPrice, formatQuantity, formatTime, formatWeight } from "./format.js";
import { loadingPage } from "./loading-page.js";
import { notice } from "./notice.js";
import type { ViewContext } from "./view-context.js";
import { weightChart, type WeightRow } from "./weight-chart.js";

/** One line of the holdings table: a position, a target not yet held, or the cash. */
interface HoldingRow {
  symbol: string;
  kind: "held" | "not held" | "cash";
  quantity?: number;
  price?: number;
  value: number;
  currency?: string;
  weight: number;
  /** Undefined when the targets could not be fetched. */
  target?: number;
}

/**
 * Holdings against the strategy's targets as they stand now (GetTargets: after the replacement
 * set, shown as fractions of net liquidation once the cash reserve is set aside), largest weight
 * first, with the targets not yet held and the cash as rows of their own. When the allocation
 * source cannot be reached the holdings still show, with the reason.
 */
export function holdingsView(context: ViewContext, accountId: string): HTMLElement {
  const { client, withApiKey, signal } = context;
  const heading = {
    id: "holdings-view",
    title: `Holdings of ${accountId}`,
    nav: accountNav(accountId, "holdings"),
  };
  return loadingPage(context, heading, async () => {
    const [holdings, value, listed, fetched] = await Promise.all([
      withApiKey(() => client.getPositions({ accountId }, { signal })),
      withApiKey(() => client.getAccountValue({ accountId }, { signal })),
      withApiKey(() => client.listAccounts({}, { signal })),
      withApiKey(() => client.getTargets({ accountId }, { signal })).catch(
        (error: unknown) => ({ error }) as const,
      ),
    ]);
    const account = listed.accounts.find((a) => a.accountId === accountId);
    const found = "error" in fetched ? undefined : fetched;
    const rows = holdingRows(holdings.positions, value, found);
    return [
      el(
        "p",
        {},
        `Net liquidation ${formatMoney(holdings.netLiquidation, value.currency || undefined)}, ` +
          `as of ${formatTime(holdings.asOf)}.`,
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
              `with ${fetched.cashReservePercent} % kept in cash. `,
            replacementSetText(account),
          ),
      weightChart(rows.map(chartRow), `Current and target weights of ${accountId}`),
      positionsTable(rows),
    ];
  });
}

function replacementSetText(account: Account | undefined): HTMLElement {
  return account?.replacementSet
    ? el(
        "span",
        { id: "replacement-set" },
        `Replacement set in force: ${account.replacementSet} (its targets trade instead of the strategy's symbols it replaces).`,
      )
    : el("span", { id: "replacement-set" }, "No replacement set.");
}

/**
 * Positions and targets not yet held, largest current weight first (then largest target), then
 * the cash. Target weights are fractions of net liquidation, comparable with current weights;
 * the cash's target is what the targets leave uninvested (the reserve at least).
 */
function holdingRows(
  positions: readonly Position[],
  value: GetAccountValueResponse,
  targets: GetTargetsResponse | undefined,
): HoldingRow[] {
  const invested = targets ? (100 - targets.cashReservePercent) / 100 : 0;
  const wanted = new Map(targets?.targets.map((t) => [t.symbol, t.weight * invested]) ?? []);
  const target = (symbol: string) => (targets ? (wanted.get(symbol) ?? 0) : undefined);
  const rows: HoldingRow[] = positions.map((p) => ({
    symbol: p.symbol,
    kind: "held",
    quantity: p.quantity,
    price: p.price,
    value: p.marketValue,
    currency: p.currency || undefined,
    weight: p.weight,
    target: target(p.symbol),
  }));
  for (const [symbol, weight] of wanted) {
    if (!positions.some((p) => p.symbol === symbol)) {
      rows.push({ symbol, kind: "not held", value: 0, weight: 0, target: weight });
    }
  }
  rows.sort(
    (a, b) =>
      b.weight - a.weight || (b.target ?? 0) - (a.target ?? 0) || a.symbol.localeCompare(b.symbol),
  );
  const targeted = [...wanted.values()].reduce((sum, weight) => sum + weight, 0);
  rows.push({
    symbol: "Cash",
    kind: "cash",
    value: value.cash,
    currency: value.currency || undefined,
    weight: value.netLiquidation === 0 ? 0 : value.cash / value.netLiquidation,
    target: targets ? Math.max(0, 1 - targeted) : undefined,
  });
  return rows;
}

function chartRow(row: HoldingRow): WeightRow {
  return { symbol: row.symbol, current: row.weight, target: row.target };
}

function positionsTable(rows: readonly HoldingRow[]): HTMLElement {
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
      ...rows.map((row) =>
        el(
          "tr",
          { "data-symbol": row.symbol, "data-kind": row.kind, class: row.kind.replace(" ", "-") },
          el("td", {}, row.symbol),
          el(
            "td",
            number,
            row.kind === "cash"
              ? ""
              : row.kind === "not held"
                ? "not held"
                : formatQuantity(row.quantity!),
          ),
          el("td", number, row.price === undefined ? "" : formatPrice(row.price)),
          el("td", number, formatMoney(row.value, row.currency)),
          el("td", number, formatWeight(row.weight)),
          el("td", number, row.target === undefined ? "—" : formatWeight(row.target)),
        ),
      ),
    ),
  );
}
