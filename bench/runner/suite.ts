/**
 * The common shape of a benchmark suite run by `exodb bench`: a name, parameters for the quick
 * (smoke) run and the full run, and `run()` returning typed figures, a Markdown section, chart
 * data and rows for the report's summary table.
 */
import type { Chart } from "./svg_chart.ts";
import type { Progress } from "./progress.ts";

/** One row of the report's one-screen summary table. */
export interface SummaryRow {
  /** What was compared, e.g. "pgbench select-only, prepared, 1 client". */
  metric: string;
  /** The measured figure, already formatted with its unit. */
  value: string;
  /** candidate / baseline (higher is better) when the row is a ratio. */
  ratio?: number;
  /** The goal for `ratio`, when the issue sets one. */
  goal?: number;
}

/** What a suite hands back to the report writer. */
export interface SuiteOutcome<Figures = unknown> {
  /** Machine-readable figures (the suite's own typed shape), written to report.json. */
  figures: Figures;
  /** A Markdown section (without its top heading; the report adds it). */
  markdown: string;
  /** Charts to render as SVG beside the report; the Markdown links them by file name. */
  charts: Chart[];
  summary: SummaryRow[];
}

/** What every suite receives. */
export interface SuiteContext {
  quick: boolean;
  progress: Progress;
  /** A scratch directory for this suite, removed after it runs. */
  workDir: string;
}

/** A benchmark suite. */
export interface Suite<Params = unknown, Figures = unknown> {
  /** The name `--suite` selects it by. */
  name: string;
  title: string;
  quick: Params;
  full: Params;
  /** How many progress steps `run(params)` will report (for the progress bar). */
  steps(params: Params): number;
  run(params: Params, context: SuiteContext): Promise<SuiteOutcome<Figures>>;
  /**
   * Renders figures from an earlier run again (Markdown, charts, summary), so a report can be
   * rewritten with the current wording without measuring again (`exodb bench --render-only`).
   */
  render?(figures: Figures): Omit<SuiteOutcome<Figures>, "figures">;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `q`-quantile (0–1) of a list, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** A Markdown table from a header and rows of cells. Numeric-looking columns align right. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const align = header.map((_, c) =>
    rows.length > 0 && rows.every((r) => /^[-\d.,]+[×%]?( \S+)?$/.test(String(r[c] ?? "")))
      ? "---:"
      : "---"
  );
  return [
    `| ${header.join(" | ")} |`,
    `|${align.join("|")}|`,
    ...rows.map((r) => `| ${r.map(String).join(" | ")} |`),
  ].join("\n");
}
