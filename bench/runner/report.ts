/**
 * The report writer: bench/results/REPORT.md (machine, one-screen summary of ratios, a section
 * per suite), report.json (every suite's figures) and one SVG per chart beside them. A quick run
 * writes REPORT.quick.md and report.quick.json, and prefixes its charts with `quick_`, so a smoke
 * run never overwrites the full run's figures.
 */
import type { MachineInfo } from "./machine.ts";
import { machineMarkdown } from "./machine.ts";
import type { Suite, SuiteOutcome, SummaryRow } from "./suite.ts";
import { markdownTable } from "./suite.ts";
import { renderChart } from "./svg_chart.ts";

/** One suite's outcome, as the report holds it. */
export interface SuiteReport {
  name: string;
  title: string;
  seconds: number;
  /** When this suite started, and the 1-minute load average then (a shared machine's noise). */
  startedAt: string | null;
  loadAverageAtStart: number | null;
  /** The parameters it ran with (quick or full). */
  params: unknown;
  outcome?: SuiteOutcome;
  /** Set when the suite threw: the report says so instead of hiding it. */
  error?: string;
}

/** Everything one `exodb bench` run produced. */
export interface BenchReport {
  quick: boolean;
  command: string;
  machine: MachineInfo;
  totalSeconds: number;
  suites: SuiteReport[];
}

function summaryCells(row: SummaryRow): string[] {
  const ratio = row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}×`;
  const goal = row.goal === undefined || row.ratio === undefined
    ? ""
    : row.ratio >= row.goal
    ? `≥ ${goalText(row.goal)}×: met`
    : `≥ ${goalText(row.goal)}×: **short by ${((1 - row.ratio / row.goal) * 100).toFixed(0)}%**`;
  return [row.metric, row.value, ratio, goal];
}

/** A goal as the issue states it: at most two decimals (1 / 1.5 prints as 0.67). */
function goalText(goal: number): string {
  return String(Number(goal.toFixed(2)));
}

/** The Markdown report. `chartPrefix` is prepended to chart file names. */
export function reportMarkdown(report: BenchReport, chartPrefix: string): string {
  const summary = report.suites.flatMap((s) => s.outcome?.summary ?? []);
  const lines = [
    `# ExoDB benchmark report${report.quick ? " (quick smoke run)" : ""}`,
    "",
    `\`${report.command}\` — ${(report.totalSeconds / 60).toFixed(1)} minutes of suites in all.`,
    report.quick
      ? "A quick run uses tiny data and one short run per figure: it proves the suites work; the figures are not to be quoted."
      : "Ratios are measured side by side in one run (candidates interleaved); on a shared machine read them, not the absolute figures.",
    "",
    "## Machine",
    "",
    machineMarkdown(report.machine),
    "",
    "## Summary",
    "",
    summary.length === 0
      ? "No suite produced figures."
      : markdownTable(["comparison", "figures", "ratio", "goal"], summary.map(summaryCells)),
    "",
    markdownTable(
      ["suite", "time", "started", "load average at start", "status"],
      report.suites.map((s) => [
        `[${s.title}](#${s.name})`,
        `${s.seconds.toFixed(0)} s`,
        s.startedAt ?? "with the run",
        typeof s.loadAverageAtStart === "number" ? s.loadAverageAtStart.toFixed(2) : "",
        s.error === undefined ? "ok" : "**failed** (see its section)",
      ]),
    ),
  ];
  for (const suite of report.suites) {
    lines.push("", `<a id="${suite.name}"></a>`, "", `## ${suite.title}`, "");
    if (suite.error !== undefined) {
      lines.push("This suite failed:", "", "```", suite.error, "```");
      continue;
    }
    let markdown = suite.outcome!.markdown;
    for (const chart of suite.outcome!.charts) {
      markdown = markdown.replaceAll(`(${chart.file})`, `(${chartPrefix}${chart.file})`);
    }
    lines.push(markdown);
  }
  return lines.join("\n") + "\n";
}

/** Writes REPORT.md, report.json and the SVGs under `dir`; returns the report's path. */
export function writeReport(report: BenchReport, dir: string): string {
  Deno.mkdirSync(dir, { recursive: true });
  const prefix = report.quick ? "quick_" : "";
  for (const suite of report.suites) {
    for (const chart of suite.outcome?.charts ?? []) {
      Deno.writeTextFileSync(`${dir}/${prefix}${chart.file}`, renderChart(chart));
    }
  }
  const json = report.quick ? "report.quick.json" : "report.json";
  Deno.writeTextFileSync(`${dir}/${json}`, JSON.stringify(report, null, 2) + "\n");
  const path = `${dir}/${report.quick ? "REPORT.quick.md" : "REPORT.md"}`;
  Deno.writeTextFileSync(path, reportMarkdown(report, prefix));
  return path;
}

/**
 * `fresh` with the suites it did not run taken from `previous` (an earlier report.json of the
 * same kind), in `order`: re-running one suite keeps the others' figures. The total time is the
 * sum over the suites' own times.
 */
export function mergeReports(
  previous: BenchReport,
  fresh: BenchReport,
  order: string[],
): BenchReport {
  if (previous.quick !== fresh.quick) {
    throw new Error("cannot merge a quick report with a full one");
  }
  const byName = new Map(previous.suites.map((s) => [s.name, s]));
  for (const s of fresh.suites) byName.set(s.name, s);
  const suites = order.flatMap((name) => byName.get(name) ?? []);
  const rerun = fresh.suites.map((s) => s.name).join(", ");
  return {
    ...fresh,
    command: `${previous.command}; then ${fresh.command} (re-ran ${rerun})`,
    machine: previous.machine,
    totalSeconds: suites.reduce((sum, s) => sum + s.seconds, 0),
    suites,
  };
}

/** Runs `suites` in order with their quick or full parameters, collecting a report. */
export async function runSuites(
  suites: Suite[],
  options: {
    quick: boolean;
    command: string;
    machine: MachineInfo;
    progress: import("./progress.ts").Progress;
  },
): Promise<BenchReport> {
  const started = performance.now();
  for (const suite of suites) {
    options.progress.plan(suite.steps(options.quick ? suite.quick : suite.full));
  }
  const reports: SuiteReport[] = [];
  for (const suite of suites) {
    options.progress.suite(suite.name);
    const workDir = Deno.makeTempDirSync({ prefix: `exodb-bench-${suite.name}-` });
    const suiteStarted = performance.now();
    const params = options.quick ? suite.quick : suite.full;
    const entry: SuiteReport = {
      name: suite.name,
      title: suite.title,
      seconds: 0,
      startedAt: new Date().toISOString(),
      loadAverageAtStart: Deno.loadavg()[0] ?? NaN,
      params,
    };
    try {
      entry.outcome = await suite.run(params, {
        quick: options.quick,
        progress: options.progress,
        workDir,
      });
    } catch (error) {
      entry.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      options.progress.note(`failed: ${String(error).slice(0, 200)}`);
    } finally {
      Deno.removeSync(workDir, { recursive: true });
    }
    entry.seconds = (performance.now() - suiteStarted) / 1000;
    reports.push(entry);
  }
  options.progress.finish();
  return {
    quick: options.quick,
    command: options.command,
    machine: options.machine,
    totalSeconds: (performance.now() - started) / 1000,
    suites: reports,
  };
}
