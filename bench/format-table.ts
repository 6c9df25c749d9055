// The one table of a benchmark run, as Markdown: readable in a terminal and pasteable as is.
import type { BenchFigure, BenchSection } from "./bench-section.js";

const header = [
  "benchmark",
  "figure",
  "median",
  "p99",
  "baseline",
  "baseline median",
  "baseline p99",
  "ratio",
  "target",
];

/** Columns holding figures, right-aligned. */
const numeric = new Set([2, 3, 5, 6, 7]);

/** One row per figure, then each section's notes and details as footnotes. */
export function formatTable(sections: readonly BenchSection[]): string {
  const rows = sections.flatMap((section) =>
    section.figures.map((figure) => row(section.id, figure)),
  );
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const pad = (cell: string, i: number) =>
    numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = line(
    widths.map((w, i) => (numeric.has(i) ? `${"-".repeat(w - 1)}:` : "-".repeat(w))),
  );
  const footnotes = sections.flatMap((section) => [
    ...section.notes.map((note) => `- ${section.id}: ${note}`),
    ...section.figures
      .filter((figure) => figure.detail)
      .map(
        (figure) =>
          `- ${section.id}, ${figure.name}: ` +
          Object.entries(figure.detail!)
            .map(([key, value]) => `${key} ${value}`)
            .join(", "),
      ),
  ]);
  return [line(header), rule, ...rows.map(line), "", ...footnotes].join("\n");
}

function row(section: string, figure: BenchFigure): string[] {
  const verdict = figure.met === undefined ? "" : figure.met ? "met: " : "missed: ";
  return [
    section,
    figure.name,
    value(figure.median, figure.unit),
    figure.p99 === undefined ? "-" : value(figure.p99, figure.unit),
    figure.baseline.name,
    value(figure.baseline.median, figure.unit),
    figure.baseline.p99 === undefined ? "-" : value(figure.baseline.p99, figure.unit),
    `${figure.ratio}x`,
    figure.target ? `${verdict}${figure.target}` : `(${figure.ratioMeaning})`,
  ];
}

/** A figure with its unit, to a precision that suits its size. */
function value(amount: number, unit: string): string {
  if (!Number.isFinite(amount)) return `${amount}`;
  const digits = unit === "req/s" ? 0 : unit === "MiB" ? 1 : amount < 1 ? 3 : amount < 100 ? 2 : 1;
  return `${amount.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}
