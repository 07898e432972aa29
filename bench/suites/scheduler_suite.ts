/**
 * Suite "scheduler": foreground select-only p99 while a large CHECKPOINT and a full scrub run,
 * scheduler fair vs fifo, against the idle p99 of the same runs (bench/scheduler_bench.ts does
 * the measuring; `deno task bench:scheduler` runs it alone).
 */
import {
  measureScheduler,
  type SchedulerBenchFigures,
  type SchedulerBenchParams,
  schedulerBenchParams,
  schedulerMarkdown,
} from "../scheduler_bench.ts";
import type { Suite, SuiteOutcome } from "../runner/suite.ts";

function render(figures: SchedulerBenchFigures): Omit<SuiteOutcome, "figures"> {
  const markdown = [
    schedulerMarkdown(figures),
    "",
    "Reproduce: `deno task bench:scheduler` (or `deno task exodb bench --suite scheduler`).",
    "",
    "![p99 under background load / idle p99](scheduler.svg)",
  ].join("\n");
  const fair = figures.summary.find((s) => s.mode === "fair");
  const fifo = figures.summary.find((s) => s.mode === "fifo");
  return {
    markdown,
    charts: figures.skipped !== undefined ? [] : [{
      kind: "bar",
      file: "scheduler.svg",
      title: "Select-only p99 during CHECKPOINT + scrub, relative to idle p99",
      unit: "× idle p99",
      bars: figures.summary.map((s) => ({ label: `scheduler ${s.mode}`, value: s.ratio })),
      reference: { value: 1.5, label: "goal 1.5×" },
    }],
    summary: fair === undefined || fifo === undefined ? [] : [
      {
        metric: "scheduler: select p99 during CHECKPOINT + scrub (idle p99 / busy p99, fair)",
        value: `fair ${fair.ratio.toFixed(2)}× idle, fifo ${fifo.ratio.toFixed(2)}× idle; ` +
          (fair.pooledRatio === undefined || fifo.pooledRatio === undefined
            ? ""
            : `pooled fair ${fair.pooledRatio.toFixed(2)}×, fifo ${
              fifo.pooledRatio.toFixed(2)
            }×; `) +
          `background ${fair.backgroundMs.toFixed(0)} vs ${fifo.backgroundMs.toFixed(0)} ms, ` +
          `finished: ${fair.allFinished && fifo.allFinished ? "yes" : "no"}`,
        ratio: 1 / fair.ratio,
        goal: 1 / 1.5,
      },
    ],
  };
}

/** The scheduler suite. */
export const schedulerSuite: Suite<SchedulerBenchParams, SchedulerBenchFigures> = {
  name: "scheduler",
  title: "Scheduler: foreground p99 under CHECKPOINT + scrub, fair vs fifo",
  quick: schedulerBenchParams.quick,
  full: schedulerBenchParams.full,
  steps: (p) => 1 + 2 * p.repeats,
  async run(params, context) {
    const figures = await measureScheduler(params, () => context.progress.step("scheduler run"));
    return { figures, ...render(figures) };
  },
  render,
};
