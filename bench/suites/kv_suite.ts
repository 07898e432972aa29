/**
 * Suite `kv`: the Deno.Kv-compatible API beside Deno's built-in KV — ExoDB's openKv (memory and
 * a data directory) and its KV Connect server (Deno's own remote client), against Deno's KV in
 * memory and in a SQLite file — set, get, set with 100 in flight, list, atomic of 10 sets,
 * get + check + set. The measurement (bench/kv_measure.ts, method there) needs Deno's KV, so it
 * runs bench/kv_bench.ts in a child process with `--unstable-kv`.
 */
import type { Suite } from "../runner/suite.ts";
import { baselineTarget, type KvFigures, kvMarkdown, workloadNames } from "../kv_measure.ts";
import { runChildBench } from "../runner/child_bench.ts";

/** Parameters of one run. */
export interface KvParams {
  rounds: number;
  sliceMs: number;
  turnMs: number;
}

/** Runs kv_bench.ts in a child and returns its figures. */
function runChild(params: KvParams, workDir: string): Promise<KvFigures> {
  return runChildBench<KvFigures>(
    "kv_bench.ts",
    [
      `--rounds=${params.rounds}`,
      `--slice-ms=${params.sliceMs}`,
      `--turn-ms=${params.turnMs}`,
    ],
    `${workDir}/kv.json`,
    ["--unstable-kv"],
  );
}

function render(figures: KvFigures) {
  const exoFile = "exodb file";
  const markdown = [
    `${figures.rounds} counted rounds (after one warm-up); in each round every target runs for`,
    `${figures.sliceMs} ms in turns of ${figures.turnMs} ms, the targets taking turns. Each figure`,
    "is the median of the per-round rates, quartiles in brackets. Both",
    "file targets make every acknowledged commit durable (ExoDB: fdatasync of its log; Deno:",
    "SQLite WAL with synchronous=FULL, an fsync of the WAL per commit).",
    "",
    kvMarkdown(figures),
    "",
    "![ExoDB file / Deno file, per workload](kv.svg)",
  ].join("\n");
  return {
    markdown,
    charts: [{
      kind: "bar" as const,
      file: "kv.svg",
      title: `ExoDB file KV / ${baselineTarget} KV (median per-round ratio)`,
      unit: "×",
      bars: figures.workloads.map((w) => {
        const r = w.vsDenoFile[exoFile]!;
        return { label: w.name, value: r.median, error: (r.ci95[1] - r.ci95[0]) / 2 };
      }),
      reference: { value: 1, label: "Deno file" },
    }],
    summary: figures.workloads.map((w) => {
      const r = w.vsDenoFile[exoFile]!;
      return {
        metric: `kv: ${w.name}, ExoDB file / Deno file`,
        value: `${Math.round(w.targets[exoFile]!.median).toLocaleString("en")} vs ${
          Math.round(w.targets[baselineTarget]!.median).toLocaleString("en")
        } ${w.unit}`,
        ratio: r.median,
        goal: 1,
      };
    }),
  };
}

/** Suite `kv`. */
export const kvSuite: Suite<KvParams, KvFigures> = {
  name: "kv",
  title: "Deno KV API: ExoDB vs Deno's built-in KV",
  quick: { rounds: 2, sliceMs: 40, turnMs: 5 },
  full: { rounds: 21, sliceMs: 300, turnMs: 5 },
  steps: () => 1,
  async run(params, context) {
    context.progress.note(`${workloadNames.length} workloads × ${params.rounds + 1} rounds`);
    const figures = await runChild(params, context.workDir);
    context.progress.step("KV workloads");
    return { figures, ...render(figures) };
  },
  render,
};
