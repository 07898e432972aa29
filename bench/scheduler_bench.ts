/**
 * The cooperative scheduler under background load: foreground select-only p99 latency (pgbench,
 * point selects by primary key) while a large CHECKPOINT (many pages dirtied first) and a full
 * checksum scrub (`SELECT exodb_scrub()`) run, against the idle p99 of the same run, with the
 * scheduler `fair` (interactive before maintenance before background, aging) and `fifo`
 * (arrival order). Both servers serve copies of one loaded data directory; runs alternate
 * fair, fifo, fifo, fair, … so drift hits both. The goal: p99 under background load
 * within 1.5× of the idle p99 with the scheduler on, and the background work still finishes.
 *
 * Each run: dirty pages (an UPDATE of every K-th row, rolled back: no committed write, so no
 * periodic vacuum pass joins in), start pgbench, after `idleMs` run CHECKPOINT and then the
 * scrub from control connections, wait for both to finish (started together, the scrub would
 * skip the blocks still dirty in the pool). pgbench's per-transaction log carries
 * each transaction's completion time: the idle window is from warm-up to the background start,
 * the background window from its start to its end.
 *
 * Run: deno task bench:scheduler [--quick]   (writes bench/results/scheduler.json, or
 * scheduler.quick.json)
 */
import pg from "pg";
import { saveResult } from "./harness.ts";
import { type ExoDbServer, pgbenchPath, startExoDb } from "./runner/pgbench.ts";
import { markdownTable, median, quantile } from "./runner/suite.ts";

/** Parameters of one measurement. */
export interface SchedulerBenchParams {
  /** Rows in pgbench_accounts. */
  rows: number;
  clients: number;
  /** Runs per mode. */
  repeats: number;
  /** Length of each pgbench run, in seconds. */
  secondsPerRun: number;
  /** Foreground-only time before the background work starts, in milliseconds. */
  idleMs: number;
  /** Every `dirtyEvery`-th row is updated before each run (dirtying about every leaf page). */
  dirtyEvery: number;
  poolSize: string;
}

/** Scheduler modes compared. */
export type SchedulerMode = "fair" | "fifo";
const modes: SchedulerMode[] = ["fair", "fifo"];

/** One run's figures. */
export interface SchedulerRun {
  mode: SchedulerMode;
  idleP99Ms: number;
  idleP50Ms: number;
  idleSamples: number;
  backgroundP99Ms: number;
  backgroundP50Ms: number;
  backgroundSamples: number;
  /** backgroundP99Ms / idleP99Ms. */
  ratio: number;
  /** Dirty pool pages when the CHECKPOINT started. */
  dirtyPages: number;
  /** How long the CHECKPOINT statement took. */
  checkpointMs: number;
  /** From the start of the CHECKPOINT to the scrub's finish (the scrub starts when it returns). */
  scrubMs: number;
  /** Blocks the scrub verified. */
  scrubBlocks: number;
  /** Start of the background work to the end of both. */
  backgroundMs: number;
  /** Both finished before pgbench stopped (else the background window was cut at its end). */
  finishedInWindow: boolean;
  tps: number;
}

/** Per mode, medians over runs. */
export interface SchedulerModeSummary {
  mode: SchedulerMode;
  idleP99Ms: number;
  backgroundP99Ms: number;
  /** Median of the per-run ratios (the goal's figure). */
  ratio: number;
  /**
   * p99 of every run's background-window samples over p99 of every run's idle-window samples:
   * steadier than a ratio of two per-run p99s, whose idle part swings most. Absent in reports
   * from before it was computed.
   */
  pooledRatio?: number;
  backgroundMs: number;
  checkpointMs: number;
  scrubMs: number;
  /** Every run's background work finished. */
  allFinished: boolean;
}

/** The whole measurement. */
export interface SchedulerBenchFigures {
  skipped?: string;
  params: SchedulerBenchParams;
  runs: SchedulerRun[];
  summary: SchedulerModeSummary[];
}

/** Quick (smoke) and full parameters. */
export const schedulerBenchParams: { quick: SchedulerBenchParams; full: SchedulerBenchParams } = {
  quick: {
    rows: 20_000,
    clients: 4,
    repeats: 1,
    secondsPerRun: 2,
    idleMs: 800,
    dirtyEvery: 20,
    poolSize: "64MiB",
  },
  full: {
    rows: 400_000,
    clients: 4,
    repeats: 3,
    secondsPerRun: 20,
    idleMs: 2_500,
    dirtyEvery: 10,
    poolSize: "256MiB",
  },
};

function client(server: ExoDbServer): pg.Client {
  return new pg.Client({ host: "127.0.0.1", port: server.port, user: "exodb", database: "exodb" });
}

async function scalar(c: pg.Client, sql: string): Promise<number> {
  const result = await c.query(sql);
  return Number(Object.values(result.rows[0])[0]);
}

/** Loads pgbench_accounts into a fresh server, stops it cleanly and returns its data dir. */
async function loadDataDir(params: SchedulerBenchParams): Promise<string> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-sched-" });
  const server = await startExoDb({
    dataDir,
    keepDataDir: true,
    poolSize: params.poolSize,
    imageSize: "64MiB",
    logSize: "512MiB",
  });
  const c = client(server);
  await c.connect();
  try {
    await c.query(
      "create table pgbench_accounts (aid int primary key, bid int, abalance int, filler char(84))",
    );
    for (let from = 1; from <= params.rows; from += 50_000) {
      const to = Math.min(params.rows, from + 49_999);
      await c.query(
        `insert into pgbench_accounts select g, (g - 1) / 100000 + 1, 0, '' from generate_series(${from}, ${to}) g`,
      );
    }
    await c.query("vacuum; checkpoint");
  } finally {
    await c.end();
    await server.stop();
  }
  return dataDir;
}

function copyDir(from: string): string {
  const to = Deno.makeTempDirSync({ prefix: "exodb-sched-" });
  for (const entry of Deno.readDirSync(from)) {
    Deno.copyFileSync(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
  return to;
}

/** pgbench log entries: completion time (ms since the epoch) and latency (µs). */
function readLog(dir: string): { endMs: number; latencyUs: number }[] {
  const out: { endMs: number; latencyUs: number }[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    for (const line of Deno.readTextFileSync(`${dir}/${entry.name}`).split("\n")) {
      // client_id transaction_no latency_us script_no epoch_s epoch_us
      const f = line.split(" ");
      if (f.length < 6 || !/^\d+$/.test(f[2]!)) continue;
      out.push({ endMs: Number(f[4]) * 1000 + Number(f[5]) / 1000, latencyUs: Number(f[2]) });
    }
  }
  return out;
}

async function oneRun(
  binary: string,
  server: ExoDbServer,
  mode: SchedulerMode,
  params: SchedulerBenchParams,
  script: string,
  latencies: Map<SchedulerRun, { idle: number[]; busy: number[] }>,
): Promise<SchedulerRun> {
  const control = client(server);
  const scrubber = client(server);
  await control.connect();
  await scrubber.connect();
  const logDir = Deno.makeTempDirSync({ prefix: "exodb-sched-log-" });
  try {
    // Dirty about every leaf page without a committed write (so no periodic vacuum pass).
    await control.query("begin");
    await control.query(
      `update pgbench_accounts set abalance = abalance + 1 where aid % ${params.dirtyEvery} = 0`,
    );
    await control.query("rollback");
    const dirtyPages = await scalar(control, "select dirty from exodb_stat_bufferpool");
    const scrubsBefore = await scalar(control, "select scrubs from exodb_stat_maintenance");

    const started = Date.now();
    const bench = new Deno.Command(binary, {
      args: [
        "-n",
        "-M",
        "prepared",
        "-f",
        script,
        "-D",
        `rows=${params.rows}`,
        "-c",
        String(params.clients),
        "-j",
        "2",
        "-T",
        String(params.secondsPerRun),
        "-l",
        `--log-prefix=${logDir}/tx`,
      ],
      env: server.target.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    await new Promise((resolve) => setTimeout(resolve, params.idleMs));
    const backgroundStart = Date.now();
    // CHECKPOINT, then the scrub at once (started together, the scrub would skip every block
    // still dirty in the pool and check little).
    const checkpointMs = await control.query("checkpoint").then(() => Date.now() - backgroundStart);
    await scrubber.query("select exodb_scrub()");
    const scrubMs = await (async () => {
      for (let i = 0; i < 12_000; i++) { // bounded: 120 s
        if (await scalar(scrubber, "select scrubs from exodb_stat_maintenance") > scrubsBefore) {
          return Date.now() - backgroundStart;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error("the scrub did not finish in 120 s");
    })();
    const backgroundEnd = backgroundStart + scrubMs;
    const output = await bench;
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    if (!output.success) throw new Error(`pgbench failed:\n${text}`);
    const tps = Number(/tps = ([\d.]+) \(without initial/.exec(text)?.[1] ?? NaN);
    const scrubBlocks = await scalar(
      control,
      "select last_scrub_blocks from exodb_stat_maintenance",
    );
    const log = readLog(logDir);
    const benchEnd = log.reduce((latest, e) => Math.max(latest, e.endMs), 0);
    const warm = started + Math.min(500, params.idleMs / 2);
    const idle = log.filter((e) => e.endMs >= warm && e.endMs < backgroundStart)
      .map((e) => e.latencyUs / 1000);
    const busy = log.filter((e) => e.endMs >= backgroundStart && e.endMs <= backgroundEnd)
      .map((e) => e.latencyUs / 1000);
    const idleP99Ms = quantile(idle, 0.99);
    const backgroundP99Ms = quantile(busy, 0.99);
    const run: SchedulerRun = {
      mode,
      idleP99Ms,
      idleP50Ms: quantile(idle, 0.5),
      idleSamples: idle.length,
      backgroundP99Ms,
      backgroundP50Ms: quantile(busy, 0.5),
      backgroundSamples: busy.length,
      ratio: backgroundP99Ms / idleP99Ms,
      dirtyPages,
      checkpointMs,
      scrubMs,
      scrubBlocks,
      backgroundMs: backgroundEnd - backgroundStart,
      finishedInWindow: backgroundEnd <= benchEnd,
      tps,
    };
    latencies.set(run, { idle, busy }); // kept out of the figures: tens of thousands each
    return run;
  } finally {
    await control.end();
    await scrubber.end();
    Deno.removeSync(logDir, { recursive: true });
  }
}

/** Runs the measurement; `onStep` after each run (progress bars). */
export async function measureScheduler(
  params: SchedulerBenchParams,
  onStep: () => void = () => {},
): Promise<SchedulerBenchFigures> {
  const binary = pgbenchPath();
  if (binary === undefined) {
    return { skipped: "pgbench is not installed", params, runs: [], summary: [] };
  }
  const loaded = await loadDataDir(params);
  onStep();
  const servers = new Map<SchedulerMode, ExoDbServer>();
  const script = Deno.makeTempFileSync({ prefix: "exodb-sched-", suffix: ".sql" });
  Deno.writeTextFileSync(
    script,
    "\\set aid random(1, :rows)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n",
  );
  const runs: SchedulerRun[] = [];
  const latencies = new Map<SchedulerRun, { idle: number[]; busy: number[] }>();
  try {
    for (const mode of modes) {
      servers.set(
        mode,
        await startExoDb({
          dataDir: mode === "fair" ? loaded : copyDir(loaded),
          scheduler: mode,
          poolSize: params.poolSize,
        }),
      );
    }
    // The first periodic vacuum pass after boot always runs (10 s in): wait it out on both, so
    // it does not land in a measured window.
    for (const server of servers.values()) {
      const c = client(server);
      await c.connect();
      try {
        for (let i = 0; i < 1_200; i++) { // bounded: 120 s
          if (await scalar(c, "select vacuums from exodb_stat_maintenance") >= 1) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await c.end();
      }
    }
    for (let r = 0; r < params.repeats; r++) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
        runs.push(await oneRun(binary, servers.get(mode)!, mode, params, script, latencies));
        onStep();
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop();
    Deno.removeSync(script);
    try {
      Deno.removeSync(loaded, { recursive: true });
    } catch { /* removed with the fair server */ }
  }
  const summary = modes.map((mode): SchedulerModeSummary => {
    const mine = runs.filter((run) => run.mode === mode);
    const pooled = (window: "idle" | "busy") =>
      quantile(mine.flatMap((run) => latencies.get(run)?.[window] ?? []), 0.99);
    return {
      mode,
      idleP99Ms: median(mine.map((run) => run.idleP99Ms)),
      backgroundP99Ms: median(mine.map((run) => run.backgroundP99Ms)),
      ratio: median(mine.map((run) => run.ratio)),
      pooledRatio: pooled("busy") / pooled("idle"),
      backgroundMs: median(mine.map((run) => run.backgroundMs)),
      checkpointMs: median(mine.map((run) => run.checkpointMs)),
      scrubMs: median(mine.map((run) => run.scrubMs)),
      allFinished: mine.every((run) => Number.isFinite(run.backgroundMs)),
    };
  });
  return { params, runs, summary };
}

/** The figures as a Markdown section. */
export function schedulerMarkdown(figures: SchedulerBenchFigures): string {
  if (figures.skipped !== undefined) return `Skipped: ${figures.skipped}.`;
  const p = figures.params;
  const lines = [
    `pgbench select-only by primary key (-M prepared), ${p.clients} clients, ${p.rows} rows, ` +
    `${p.repeats} run(s) per mode of ${p.secondsPerRun} s, interleaved; background: CHECKPOINT ` +
    `after dirtying every ${p.dirtyEvery}th row, then a full scrub (\`SELECT exodb_scrub()\`), ` +
    `started after ${p.idleMs} ms. Goal: fair p99 under background ≤ 1.5× idle p99. ` +
    "checkpoint/scrub ms: from the background start to each one's end. Ratio is the median of " +
    "the per-run ratios (the goal's figure); pooled ratio is the p99 of every run's background " +
    "samples over the p99 of every run's idle samples, steadier where the idle p99 swings.",
    "",
    markdownTable(
      [
        "scheduler",
        "idle p99 ms",
        "background p99 ms",
        "ratio",
        "pooled ratio",
        "background ms",
        "checkpoint ms",
        "scrub ms",
        "finished",
      ],
      figures.summary.map((s) => [
        s.mode,
        s.idleP99Ms.toFixed(2),
        s.backgroundP99Ms.toFixed(2),
        `${s.ratio.toFixed(2)}×`,
        s.pooledRatio === undefined ? "n/a" : `${s.pooledRatio.toFixed(2)}×`,
        s.backgroundMs.toFixed(0),
        s.checkpointMs.toFixed(0),
        s.scrubMs.toFixed(0),
        s.allFinished ? "yes" : "no",
      ]),
    ),
    "",
    "Runs:",
    "",
    markdownTable(
      [
        "scheduler",
        "idle p50/p99 ms",
        "bg p50/p99 ms",
        "ratio",
        "samples idle/bg",
        "dirty pages",
        "scrub blocks",
        "bg ms",
        "in window",
        "tps",
      ],
      figures.runs.map((r) => [
        r.mode,
        `${r.idleP50Ms.toFixed(2)}/${r.idleP99Ms.toFixed(2)}`,
        `${r.backgroundP50Ms.toFixed(2)}/${r.backgroundP99Ms.toFixed(2)}`,
        `${r.ratio.toFixed(2)}×`,
        `${r.idleSamples}/${r.backgroundSamples}`,
        r.dirtyPages,
        r.scrubBlocks,
        r.backgroundMs.toFixed(0),
        r.finishedInWindow ? "yes" : "no",
        r.tps.toFixed(0),
      ]),
    ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const params = quick ? schedulerBenchParams.quick : schedulerBenchParams.full;
  const figures = await measureScheduler(params);
  console.log(schedulerMarkdown(figures));
  const path = saveResult(quick ? "scheduler.quick" : "scheduler", figures);
  console.log(`\nwritten ${path}`);
  if (figures.skipped === undefined) {
    const stray = figures.runs.find((run) => !(run.idleSamples > 0 && run.backgroundSamples > 0));
    if (stray !== undefined) throw new Error(`a run has an empty window: ${JSON.stringify(stray)}`);
  }
}
