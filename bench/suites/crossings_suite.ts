/**
 * Suite 1, crossing costs: what one crossing of each kind costs on this machine — plain call,
 * runtime op, FFI call with and without its syscall, shared-ring round trips to a Worker (polled,
 * futex wakes, waitAsync), postMessage and loopback TCP round trips. The measuring is
 * bench/crossings_bench.ts (its own process: it starts Workers and blocks in Atomics.wait),
 * whose figures this suite reads back and reports.
 */
import type { Measurement } from "../harness.ts";
import { formatNs } from "../harness.ts";
import type { Suite } from "../runner/suite.ts";
import { markdownTable } from "../runner/suite.ts";

/** Parameters of one run. */
export interface CrossingsParams {
  quick: boolean;
}

/** The suite's figures. */
export interface CrossingsFigures {
  measurements: Measurement[];
  baseline: string;
}

const script = new URL("../crossings_bench.ts", import.meta.url).pathname;

/** Suite 1. */
export const crossingsSuite: Suite<CrossingsParams, CrossingsFigures> = {
  name: "crossings",
  title: "Crossing costs",
  quick: { quick: true },
  full: { quick: false },
  steps: () => 2,
  async run(params, context) {
    const result = `${context.workDir}/crossings.json`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...(params.quick ? ["--quick"] : []), "--out", result],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `crossings_bench failed: ${new TextDecoder().decode(output.stderr).slice(-2000)}`,
      );
    }
    context.progress.step("crossings measured");
    const saved = JSON.parse(Deno.readTextFileSync(result)) as {
      results: Measurement[];
      baseline: string;
    };
    const measurements = saved.results;
    const plain = measurements[0]!;
    const rows = measurements.map((m) => [
      m.name,
      formatNs(m.medianNs),
      formatNs(m.ci95Ns),
      (m.medianNs / plain.medianNs).toFixed(0) + "×",
    ]);
    context.progress.step("done");
    const markdown = [
      "Median cost of one crossing, interleaved samples (±: 95% confidence half-width of the mean).",
      "",
      markdownTable(["crossing", "median", "±95%", "vs plain call"], rows),
      "",
      "![crossing costs](crossings.svg)",
      "",
      "Round trips include both directions and the far end's work (the echo Worker, the echo",
      "server in the same process). Ring round trips on a loaded 2-core machine can cost a",
      "scheduler time slice each when both sides spin.",
    ].join("\n");
    return {
      figures: { measurements, baseline: saved.baseline },
      markdown,
      charts: [{
        kind: "bar",
        file: "crossings.svg",
        title: "Cost of one crossing",
        unit: "nanoseconds per crossing",
        logScale: true,
        bars: measurements.map((m) => ({
          label: m.name.replace(/ \(.*\)$/, ""),
          value: m.medianNs,
        })),
      }],
      summary: measurements.filter((m) => m !== plain).map((m) => ({
        metric: `crossing: ${m.name.replace(/ \(.*\)$/, "")}`,
        value: `${formatNs(m.medianNs)} ± ${formatNs(m.ci95Ns)}`,
      })),
    };
  },
};
