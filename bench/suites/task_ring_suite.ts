/**
 * Suite "taskring": 5-step tasks from an app Worker through a task ring (one entry per task;
 * polled, and with both sides sleeping) vs 5 postMessage round trips (one per step), run by
 * bench/task_ring_bench.ts in a child process (`deno task bench:task-ring` runs it alone).
 */
import type { Measurement } from "../harness.ts";
import type { Suite, SuiteOutcome, SummaryRow } from "../runner/suite.ts";
import { markdownTable } from "../runner/suite.ts";
import { runChildBench } from "../runner/child_bench.ts";

/** Parameters: quick or full (the bench's own sample counts). */
export interface TaskRingParams {
  quick: boolean;
}

/** What task_ring_bench.ts writes with `--json`. */
export interface TaskRingFigures {
  machine: string;
  samples: number;
  tasksPerSample: number;
  /** Per task: 5 postMessages, ring sleeping, ring polled (in that order, four tasks). */
  results: Measurement[];
  polled: { tasks: number; polledTasks: number; sleeps: number };
}

const tasks = [
  { label: "SQL transfer (5 statements, COMMIT)", goal: undefined },
  { label: "5 point SELECTs (SQL)", goal: undefined },
  { label: "5 engine reads (step program)", goal: 20 },
  { label: "engine transfer, 5 steps with COMMIT (step program)", goal: undefined },
] as const;

function runChild(params: TaskRingParams, workDir: string): Promise<TaskRingFigures> {
  return runChildBench<TaskRingFigures>(
    "task_ring_bench.ts",
    params.quick ? ["--quick"] : [],
    `${workDir}/task_ring.json`,
  );
}

const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

function render(figures: TaskRingFigures): Omit<SuiteOutcome, "figures"> {
  const rows = tasks.map((task, i) => {
    const [messages, sleeping, polled] = figures.results.slice(i * 3, i * 3 + 3) as [
      Measurement,
      Measurement,
      Measurement,
    ];
    return { task, messages, sleeping, polled };
  });
  const markdown = [
    `An app Worker runs each task ${figures.tasksPerSample} times per sample, ${figures.samples}`,
    "samples per mode, modes interleaved; the figure is the median time per task. A ring task is",
    "one submission entry and one completion whatever its steps; the baseline sends each of the",
    "5 steps as one postMessage round trip to the kernel, which runs the same table calls.",
    "Polled: the kernel keeps polling the submission ring for 0.2 ms after a task and the app",
    "spins for its completion (both bounded; server.ts, client.ts); sleeping: both sides sleep on",
    "the futex at once, so every task costs a wake-up each way. On the polled ring",
    `${figures.polled.polledTasks} of ${figures.polled.tasks} tasks were found by polling.`,
    "",
    markdownTable(
      [
        "task",
        "5 postMessages",
        "ring, sleeping",
        "ring, polled",
        "sleeping ring / messages",
        "polled ring / messages",
      ],
      rows.map((r) => [
        r.task.label,
        us(r.messages.medianNs),
        us(r.sleeping.medianNs),
        us(r.polled.medianNs),
        `${(r.messages.medianNs / r.sleeping.medianNs).toFixed(2)}×`,
        `${(r.messages.medianNs / r.polled.medianNs).toFixed(2)}×`,
      ]),
    ),
    "",
    "Tasks ending in COMMIT wait for a log sync (a few hundred µs), which no ring shortens.",
    "",
    "Reproduce: `deno task bench:task-ring` (or `deno task exodb bench --suite taskring`).",
  ].join("\n");
  const summary: SummaryRow[] = rows.map((r) => ({
    metric: `task ring: ${r.task.label}, polled ring / 5 postMessages`,
    value: `${us(r.polled.medianNs)} vs ${us(r.messages.medianNs)} per task (sleeping ring ${
      us(r.sleeping.medianNs)
    })`,
    ratio: r.messages.medianNs / r.polled.medianNs,
    ...(r.task.goal === undefined ? {} : { goal: r.task.goal }),
  }));
  return { markdown, charts: [], summary };
}

/** The task ring suite. */
export const taskRingSuite: Suite<TaskRingParams, TaskRingFigures> = {
  name: "taskring",
  title: "Task rings: 5-step app tasks, one ring entry vs 5 postMessages",
  quick: { quick: true },
  full: { quick: false },
  steps: () => 1,
  async run(params, context) {
    const figures = await runChild(params, context.workDir);
    context.progress.step("task ring bench");
    return { figures, ...render(figures) };
  },
  render,
};
