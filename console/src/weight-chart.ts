// Current, target and projected weights per symbol as horizontal SVG bars.
import { el, svg } from "./element.js";
import { formatWeight } from "./format.js";

/** The weights of one symbol; a series left undefined is not drawn for it. */
export interface WeightRow {
  symbol: string;
  current: number;
  target?: number;
  projected?: number;
}

const series = ["current", "target", "projected"] as const;
const labelWidth = 80;
const barsWidth = 430;
const barHeight = 12;
const groupGap = 10;

/** A chart of the rows, the series that any row has, and a legend. */
export function weightChart(rows: readonly WeightRow[], caption: string): HTMLElement {
  const shown = series.filter((name) => rows.some((row) => row[name] !== undefined));
  const largest = Math.max(0.01, ...rows.flatMap((row) => shown.map((name) => row[name] ?? 0)));
  const groupHeight = shown.length * barHeight + groupGap;
  const height = rows.length * groupHeight + groupGap;
  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${labelWidth + barsWidth + 70} ${height}`,
    role: "img",
    "aria-label": caption,
  });
  rows.forEach((row, index) => {
    const top = groupGap + index * groupHeight;
    const group = svg(
      "g",
      { "data-symbol": row.symbol },
      svg(
        "text",
        { class: "label", x: 0, y: top + (shown.length * barHeight) / 2 + 4 },
        row.symbol,
      ),
    );
    shown.forEach((name, line) => {
      const value = row[name];
      if (value === undefined) return;
      const y = top + line * barHeight;
      const width = Math.max(0, (value / largest) * barsWidth);
      group.append(
        svg(
          "rect",
          {
            class: `bar-${name}`,
            "data-series": name,
            "data-weight": value,
            x: labelWidth,
            y,
            width: width.toFixed(1),
            height: barHeight - 2,
          },
          svg("title", {}, `${row.symbol} ${name} ${formatWeight(value)}`),
        ),
        svg(
          "text",
          { class: "value", x: labelWidth + width + 4, y: y + barHeight - 3 },
          formatWeight(value),
        ),
      );
    });
    chart.append(group);
  });
  const legend = el(
    "div",
    { class: "legend" },
    ...shown.map((name) => el("span", {}, el("span", { class: `swatch ${name}` }), name)),
  );
  return el("figure", { class: "weights" }, legend, chart);
}
