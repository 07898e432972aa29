/**
 * `deno task exodb bench [--quick] [--suite NAME …]`: runs the benchmark suites and writes
 * bench/results/REPORT.md (REPORT.quick.md with --quick), report.json and SVG charts.
 * Exit status: 0 when every selected suite ran, 1 when one failed (its section says why),
 * 2 on bad arguments.
 */
import { parseArgs } from "node:util";
import { machineInfo } from "./runner/machine.ts";
import { Progress } from "./runner/progress.ts";
import { type BenchReport, mergeReports, runSuites, writeReport } from "./runner/report.ts";
import type { Suite } from "./runner/suite.ts";
import { checksumsSuite } from "./suites/checksums_suite.ts";
import { crossingsSuite } from "./suites/crossings_suite.ts";
import { postgresSuite } from "./suites/postgres_suite.ts";
import { profilesSuite } from "./suites/profiles_suite.ts";
import { scalingSuite } from "./suites/scaling_suite.ts";
import { schedulerSuite } from "./suites/scheduler_suite.ts";
import { kvSuite } from "./suites/kv_suite.ts";
import { taskRingSuite } from "./suites/task_ring_suite.ts";

/** Every suite, in report order. */
export const allSuites: Suite[] = [
  crossingsSuite,
  profilesSuite,
  postgresSuite,
  checksumsSuite,
  scalingSuite,
  schedulerSuite,
  taskRingSuite,
  kvSuite,
] as Suite[];

/** Usage text. */
export const benchUsage = [
  "Usage: deno task exodb bench [--quick] [--suite NAME …] [--out DIR]",
  "",
  "Runs the benchmark suites and writes bench/results/REPORT.md, report.json and SVG charts",
  "(REPORT.quick.md, report.quick.json and quick_*.svg with --quick).",
  "",
  "  --quick        smoke run: tiny data, short runs (what CI runs)",
  "  --suite NAME   run only this suite (repeatable, or comma-separated); default: all",
  "  --out DIR      write the report here instead of bench/results/",
  "  --update       keep the suites not run from the existing report.json in the output folder",
  "  --render-only  measure nothing: rewrite the report from the existing report.json",
  "",
  `Suites: ${allSuites.map((s) => `${s.name} (${s.title})`).join(", ")}`,
].join("\n");

/** Picks suites by name; throws naming the unknown ones. */
export function selectSuites(names: string[]): Suite[] {
  if (names.length === 0) return allSuites;
  const wanted = names.flatMap((n) => n.split(",")).map((n) => n.trim()).filter((n) => n !== "");
  const unknown = wanted.filter((n) => !allSuites.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown suite ${unknown.map((n) => `"${n}"`).join(", ")}; suites: ${
        allSuites.map((s) => s.name).join(", ")
      }`,
    );
  }
  return allSuites.filter((s) => wanted.includes(s.name));
}

/** Renders kept suites' figures again with the current code, where the suite can. */
function rerender(report: BenchReport): void {
  for (const entry of report.suites) {
    const suite = allSuites.find((s) => s.name === entry.name);
    if (suite?.render === undefined || entry.outcome === undefined) continue;
    entry.outcome = { figures: entry.outcome.figures, ...suite.render(entry.outcome.figures) };
  }
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        quick: { type: "boolean" },
        suite: { type: "string", multiple: true },
        out: { type: "string" },
        update: { type: "boolean" },
        "render-only": { type: "boolean" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`exodb bench: ${(error as Error).message}\n\n${benchUsage}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(benchUsage);
    return 0;
  }
  let suites: Suite[];
  try {
    // `--suite a b` as well as `--suite a --suite b`: positionals are suite names too.
    suites = selectSuites([...(parsed.values.suite ?? []), ...parsed.positionals]);
  } catch (error) {
    console.error(`exodb bench: ${(error as Error).message}`);
    return 2;
  }
  const quick = parsed.values.quick === true;
  const command = ["deno task exodb bench", ...args].join(" ");
  const dir = parsed.values.out ?? new URL("./results", import.meta.url).pathname;
  let previous: BenchReport | undefined;
  const renderOnly = parsed.values["render-only"] === true;
  if (parsed.values.update || renderOnly) {
    const json = `${dir}/${quick ? "report.quick.json" : "report.json"}`;
    try {
      previous = JSON.parse(Deno.readTextFileSync(json));
    } catch (error) {
      console.error(`exodb bench: --update needs ${json}: ${(error as Error).message}`);
      return 2;
    }
  }
  if (previous !== undefined) rerender(previous);
  if (renderOnly) {
    const path = writeReport(previous!, dir);
    console.log(`report: ${path} (rewritten from its figures)`);
    return 0;
  }
  let report = await runSuites(suites, {
    quick,
    command,
    machine: await machineInfo(),
    progress: new Progress(),
  });
  if (previous !== undefined) {
    report = mergeReports(previous, report, allSuites.map((s) => s.name));
  }
  const path = writeReport(report, dir);
  console.log(`report: ${path} (${(report.totalSeconds / 60).toFixed(1)} min)`);
  const failed = report.suites.filter((s) => s.error !== undefined);
  for (const f of failed) console.error(`exodb bench: suite ${f.name} failed:\n${f.error}`);
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
