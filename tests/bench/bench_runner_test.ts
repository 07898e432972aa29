/**
 * The benchmark command's machinery (not its figures): suite selection, the progress bar, the
 * SVG charts, Markdown tables and quantiles, and the report writer with a failing suite.
 */
import assert from "node:assert/strict";
import { allSuites, selectSuites } from "../../bench/bench_main.ts";
import { Progress } from "../../bench/runner/progress.ts";
import {
  type BenchReport,
  mergeReports,
  runSuites,
  writeReport,
} from "../../bench/runner/report.ts";
import { markdownTable, median, quantile, type Suite } from "../../bench/runner/suite.ts";
import { escapeXml, renderBarChart, renderLineChart, ticks } from "../../bench/runner/svg_chart.ts";
import type { MachineInfo } from "../../bench/runner/machine.ts";

/** Every opened tag is closed (a cheap well-formedness check for our own SVG). */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

Deno.test("selectSuites: all by default, by name or comma list, unknown names rejected", () => {
  assert.equal(selectSuites([]).length, allSuites.length);
  assert.deepEqual(selectSuites(["scaling,crossings"]).map((s) => s.name), [
    "crossings",
    "scaling",
  ]);
  assert.deepEqual(selectSuites(["postgres", "checksums"]).map((s) => s.name), [
    "postgres",
    "checksums",
  ]);
  assert.throws(() => selectSuites(["crossings", "nope"]), /unknown suite "nope"/);
  assert.deepEqual(allSuites.map((s) => s.name), [
    "crossings",
    "profiles",
    "postgres",
    "checksums",
    "scaling",
    "scheduler",
    "taskring",
    "kv",
  ]);
});

Deno.test("every suite's full run is at least as large as its quick run", () => {
  for (const suite of allSuites) {
    assert.ok(suite.steps(suite.full) >= suite.steps(suite.quick), suite.name);
  }
});

Deno.test("median and quantile", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(quantile(hundred, 0.5), 50);
  assert.equal(quantile(hundred, 0.99), 99);
  assert.equal(quantile(hundred, 1), 100);
  assert.equal(quantile([7], 0.99), 7);
});

Deno.test("markdownTable aligns numeric columns right and text columns left", () => {
  const text = markdownTable(["name", "tps", "ratio"], [["a", 10, "1.50×"], ["b", "2.5", "0.7×"]]);
  assert.deepEqual(text.split("\n"), [
    "| name | tps | ratio |",
    "|---|---:|---:|",
    "| a | 10 | 1.50× |",
    "| b | 2.5 | 0.7× |",
  ]);
});

Deno.test("progress: one line per step off a terminal, counts and percentage", () => {
  const lines: string[] = [];
  const progress = new Progress((text) => lines.push(text), false);
  progress.plan(3);
  progress.plan(1);
  progress.suite("demo");
  progress.step("first");
  progress.note("working");
  progress.step("second");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\[#{7}-{21}\] 1\/4 {2}25% \d+s demo: first\n$/);
  assert.match(lines[1]!, /1\/4 .* demo: working\n$/);
  assert.match(lines[2]!, /^\[#{14}-{14}\] 2\/4 {2}50% /);
  for (let i = 0; i < 5; i++) progress.step("more"); // never past the total
  assert.match(lines[lines.length - 1]!, /\[#{28}\] 4\/4 100% /);
});

Deno.test("progress on a terminal redraws one line in place", () => {
  const out: string[] = [];
  const progress = new Progress((text) => out.push(text), true);
  progress.plan(2);
  progress.step("a");
  progress.finish();
  assert.ok(out[0]!.startsWith("\r\x1b[2K["));
  assert.equal(out[1], "\n");
});

Deno.test("ticks: linear ticks cover the range in nice steps; log ticks are powers of ten", () => {
  const linear = ticks(0, 87, false);
  assert.equal(linear[0], 0);
  assert.ok(linear[linear.length - 1]! >= 87);
  const steps = new Set(linear.slice(1).map((v, i) => +(v - linear[i]!).toPrecision(6)));
  assert.equal(steps.size, 1);
  assert.ok([10, 20, 25].includes([...steps][0]!));
  assert.deepEqual(ticks(12, 3400, true), [10, 100, 1000, 10000]);
});

Deno.test("bar chart: a bar per finite value, whiskers, reference line, escaped labels", () => {
  const svg = renderBarChart({
    kind: "bar",
    file: "x.svg",
    title: "A & B <ratio>",
    unit: "ratio",
    bars: [
      { label: "select 1c", value: 0.8, error: 0.1 },
      { label: "tpcb <8c>", value: 1.3 },
      { label: "missing", value: NaN },
    ],
    reference: { value: 1, label: "parity" },
  });
  assertBalanced(svg);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  // The background plus one bar per finite value.
  assert.equal(svg.match(/<rect /g)?.length, 3);
  assert.match(svg, /A &#38; B &#60;ratio&#62;/);
  assert.match(svg, /tpcb &#60;8c&#62;/);
  assert.match(svg, />n\/a</);
  assert.match(svg, /stroke-dasharray/); // the reference line
  assert.match(svg, /<path d="M[\d.]+ [\d.]+H[\d.]+/); // the whisker
  // The longer bar is wider.
  const widths = [...svg.matchAll(/<rect x="[\d.]+" y="\d+" width="([\d.]+)"/g)].map((m) =>
    Number(m[1])
  );
  assert.equal(widths.length, 2);
  assert.ok(widths[1]! > widths[0]!);
});

Deno.test("line chart: a path and markers per series, non-positive points dropped on log axes", () => {
  const svg = renderLineChart({
    kind: "line",
    file: "y.svg",
    title: "latency",
    xLabel: "rows",
    yLabel: "µs",
    logX: true,
    series: [
      { name: "exo", points: [[1000, 5], [100000, 7], [1000000, 9]] },
      { name: "other", points: [[0, 1], [1000, 3], [10000, 4]] },
    ],
  });
  assertBalanced(svg);
  assert.equal(svg.match(/<path d="M/g)?.length, 2);
  assert.equal(svg.match(/<circle /g)?.length, 5); // [0, 1] cannot sit on a log axis
  assert.match(svg, />exo</);
  assert.match(svg, /rows \(log\)/);
  assert.equal(escapeXml(`"'`), "&#34;&#39;");
});

const machine: MachineInfo = {
  cores: 2,
  cpuModel: "test cpu",
  memoryBytes: 2 ** 30,
  os: "test os",
  kernel: "linux test",
  deno: "0",
  v8: "0",
  postgres: "none",
  pgbench: "none",
  loadAverageAtStart: 0,
  startedAt: "2026-01-01T00:00:00.000Z",
};

Deno.test("report: sections, summary with goals, charts written, a failing suite reported", async () => {
  const ok: Suite<{ n: number }, { n: number }> = {
    name: "ok",
    title: "Works",
    quick: { n: 1 },
    full: { n: 2 },
    steps: () => 1,
    run(params, context) {
      assert.ok(Deno.statSync(context.workDir).isDirectory);
      context.progress.step("one");
      return Promise.resolve({
        figures: { n: params.n },
        markdown: "body text\n\n![c](c.svg)",
        charts: [{
          kind: "bar",
          file: "c.svg",
          title: "t",
          unit: "u",
          bars: [{ label: "a", value: 1 }],
        }],
        summary: [
          { metric: "short", value: "1 vs 2", ratio: 0.5, goal: 1 },
          { metric: "met", value: "3 vs 2", ratio: 1.5, goal: 1.2 },
        ],
      });
    },
  };
  const broken: Suite<null, null> = {
    name: "broken",
    title: "Breaks",
    quick: null,
    full: null,
    steps: () => 1,
    run: () => Promise.reject(new Error("no server")),
  };
  const lines: string[] = [];
  const report: BenchReport = await runSuites([ok as Suite, broken as Suite], {
    quick: true,
    command: "deno task exodb bench --quick",
    machine,
    progress: new Progress((t) => lines.push(t), false),
  });
  assert.equal(report.suites[0]!.error, undefined);
  assert.deepEqual(report.suites[0]!.outcome!.figures, { n: 1 }); // the quick parameters
  assert.match(report.suites[1]!.error!, /no server/);
  const dir = Deno.makeTempDirSync();
  try {
    const path = writeReport(report, dir);
    assert.equal(path, `${dir}/REPORT.quick.md`);
    const markdown = Deno.readTextFileSync(path);
    assert.match(markdown, /^# ExoDB benchmark report \(quick smoke run\)/);
    assert.match(markdown, /\| CPU \| 2 cores, test cpu \|/);
    assert.match(markdown, /\| short \| 1 vs 2 \| 0\.50× \| ≥ 1×: \*\*short by 50%\*\* \|/);
    assert.match(markdown, /\| met \| 3 vs 2 \| 1\.50× \| ≥ 1\.2×: met \|/);
    assert.match(markdown, /!\[c\]\(quick_c\.svg\)/);
    assert.match(
      markdown,
      /\| \[Breaks\]\(#broken\) \| \d+ s \| \d{4}-[^|]+ \| [\d.]+ \| \*\*failed\*\* \(see its section\) \|/,
    );
    assert.match(markdown, /This suite failed:\n\n```\nError: no server/);
    assert.ok(Deno.readTextFileSync(`${dir}/quick_c.svg`).startsWith("<svg"));
    const json = JSON.parse(Deno.readTextFileSync(`${dir}/report.quick.json`));
    assert.equal(json.suites.length, 2);
    assert.equal(json.machine.cpuModel, "test cpu");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("mergeReports keeps the suites not re-run, in suite order, and sums their times", () => {
  const suite = (name: string, seconds: number) => ({
    name,
    title: name,
    seconds,
    startedAt: null,
    loadAverageAtStart: null,
    params: null,
  });
  const previous: BenchReport = {
    quick: false,
    command: "deno task exodb bench",
    machine,
    totalSeconds: 30,
    suites: [suite("a", 10), suite("b", 20)],
  };
  const fresh: BenchReport = {
    quick: false,
    command: "deno task exodb bench --suite b --update",
    machine: { ...machine, cpuModel: "other" },
    totalSeconds: 5,
    suites: [suite("b", 5)],
  };
  const merged = mergeReports(previous, fresh, ["a", "b", "c"]);
  assert.deepEqual(merged.suites.map((s) => [s.name, s.seconds]), [["a", 10], ["b", 5]]);
  assert.equal(merged.totalSeconds, 15);
  assert.equal(merged.machine.cpuModel, "test cpu");
  assert.match(merged.command, /then deno task exodb bench --suite b --update \(re-ran b\)/);
  assert.throws(() => mergeReports({ ...previous, quick: true }, fresh, ["a"]), /quick/);
});

Deno.test("postgres suite render: ratios against goals, shortfalls said plainly, failures listed", async () => {
  const { postgresSuite } = await import("../../bench/suites/postgres_suite.ts");
  const run = (tps: number, extra: Partial<{ failed: number; retried: number }> = {}) => ({
    tps,
    transactions: tps * 5,
    p50Ms: 0.1,
    p99Ms: 1,
    retried: extra.retried ?? 0,
    failed: extra.failed ?? 0,
    aborted: false,
  });
  const rendered = postgresSuite.render!({
    scale: 10,
    pairs: 1,
    secondsPerRun: 5,
    warmupSeconds: 2,
    loadSeconds: { exodb: 100, postgres: 3 },
    rows: [
      {
        workload: "select-only",
        mode: "prepared",
        clients: 1,
        exodb: [run(3000)],
        postgres: [run(1000)],
        ratios: [3],
        ratio: 3,
        exodbCores: [0.9],
      },
      {
        workload: "tpcb",
        mode: "simple",
        clients: 8,
        exodb: [run(500, { failed: 2, retried: 25 })],
        postgres: [run(1000)],
        ratios: [0.5],
        ratio: 0.5,
        exodbCores: [0.4],
      },
    ],
  });
  assert.deepEqual(rendered.summary.map((r) => [r.ratio, r.goal]), [[3, 1.5], [0.5, 1]]);
  assert.match(
    rendered.markdown,
    /\*\*TPC-B simple 8c:\*\* 0\.50× against a goal of 1× — 50% short/,
  );
  assert.match(rendered.markdown, /1\.0% of ExoDB's transactions were retried/);
  assert.match(rendered.markdown, /TPC-B simple 8c on ExoDB: 2 failed transaction\(s\)/);
  assert.doesNotMatch(rendered.markdown, /select-only prepared 1c:\*\*/); // goal met: no shortfall
  assert.equal(rendered.charts[0]!.kind, "bar");
});
