/**
 * Suite 5, scaling: point-select latency as a table grows (rows bulk-appended in key order
 * through dbengine/bulk_append.ts and committed in batches; the select measured in process
 * through a prepared statement);
 * throughput against client count (pgbench over loopback); lookups and RSS with the data set
 * several times the buffer pool, 10× among them (a child process per pool size); recovery time
 * against the size of the WAL to replay.
 */
import { TypeId } from "../../dbengine/types.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { t } from "../../query/sql_types.ts";
import { Rng } from "../../lib/rng.ts";
import { compareAsync, formatNs } from "../harness.ts";
import { bulkAppendSorted } from "../../dbengine/bulk_append.ts";
import { bootInProcess, type InProcessExoDb } from "../runner/in_process.ts";
import { loadArgs, pgbenchPath, type PgbenchRun, timedPgbench } from "../runner/pgbench.ts";
import type { Suite, SummaryRow } from "../runner/suite.ts";
import { markdownTable } from "../runner/suite.ts";
import type { Chart } from "../runner/svg_chart.ts";
import { openStorage } from "./storage_open.ts";

/** Parameters of one run. */
export interface ScalingParams {
  /** Table sizes at which point-select latency is measured, ascending. */
  rowCounts: number[];
  /**
   * Seconds the table growth may take in all: growth stops at the batch boundary past it and
   * the size reached is measured (reported as such).
   */
  loadBudgetSeconds: number;
  /** The table size at which throughput against clients is measured. */
  throughputAtRows: number;
  clients: number[];
  secondsPerRun: number;
  /** Data set / pool ratios for the pool experiment (10 is the issue's). */
  dataToPool: number[];
  lookups: number;
  /** Row updates whose WAL recovery replays, one measurement each. */
  recoveryUpdates: number[];
  samples: number;
}

/** Pool experiment figures, one per pool size. */
export interface PoolPoint {
  poolBytes: number;
  imageBytes: number;
  lookupMedianNs: number;
  scanned: number;
  rssBytes: number;
  rssAtStartBytes: number;
}

/** The suite's figures. */
export interface ScalingFigures {
  latency: { rows: number; medianNs: number; ci95Ns: number }[];
  /** The growth's time budget this run had, in seconds. */
  loadBudgetSeconds?: number;
  /** Sizes not measured: projected over the budget, or stopped at `reached` rows mid-growth. */
  skippedRowCounts: { rows: number; projectedSeconds: number; reached?: number }[];
  insertRowsPerSecond: number;
  /** How the table grew (older runs: INSERT … SELECT generate_series). */
  loadMethod?: string;
  throughput: { rows: number; clients: number; run: PgbenchRun }[];
  pool: { rows: number; points: PoolPoint[] };
  recovery: { updates: number; walBytes: number; recoveryMs: number }[];
}

const batchRows = 100_000;

/** Suite 5. */
export const scalingSuite: Suite<ScalingParams, ScalingFigures> = {
  name: "scaling",
  title: "Scaling",
  quick: {
    rowCounts: [1_000, 20_000],
    loadBudgetSeconds: 30,
    throughputAtRows: 20_000,
    clients: [1, 4, 16],
    secondsPerRun: 1,
    dataToPool: [10, 1],
    lookups: 5_000,
    recoveryUpdates: [2_000, 8_000],
    samples: 3,
  },
  full: {
    rowCounts: [1_000, 100_000, 1_000_000, 10_000_000],
    loadBudgetSeconds: 600,
    throughputAtRows: 100_000,
    clients: [1, 2, 4, 8, 16, 32, 64],
    secondsPerRun: 3,
    dataToPool: [20, 10, 4, 1],
    lookups: 50_000,
    recoveryUpdates: [10_000, 50_000, 150_000],
    samples: 11,
  },
  steps: (p) =>
    p.rowCounts.length + p.clients.length + p.dataToPool.length + p.recoveryUpdates.length,
  async run(params, context) {
    const figures: ScalingFigures = {
      latency: [],
      loadBudgetSeconds: params.loadBudgetSeconds,
      skippedRowCounts: [],
      insertRowsPerSecond: NaN,
      loadMethod: "bulk append",
      throughput: [],
      pool: { rows: 0, points: [] },
      recovery: [],
    };
    const binary = pgbenchPath();
    const dataDir = `${context.workDir}/grow`;
    Deno.mkdirSync(dataDir);
    const db = await bootInProcess({
      dataDir,
      poolSize: "256MiB",
      // A small first image: it grows in 16 MiB extents, so its size tracks the data set.
      imageSize: "16MiB",
      logSize: "1GiB",
    });
    let rows = 0;
    let loadSeconds = 0;
    try {
      await db.sql("create table scale_t (id int primary key, v int, filler text)");
      const select = parseSql("select v, filler from scale_t where id = $1")[0]!.statement;
      for (const target of params.rowCounts) {
        // Once the budget is spent, larger sizes are not attempted (reported as not measured).
        if (loadSeconds > params.loadBudgetSeconds) {
          figures.skippedRowCounts.push({ rows: target, projectedSeconds: NaN });
          context.progress.step(`${target} rows skipped (load budget spent)`);
          continue;
        }
        // The budget also holds mid-growth: a load slower than projected stops at a batch
        // boundary, and the size reached is measured instead (and reported as such).
        while (rows < target && loadSeconds <= params.loadBudgetSeconds) {
          const to = Math.min(target, rows + batchRows);
          context.progress.note(`growing to ${target} rows: ${rows}`);
          const started = performance.now();
          await bulkGrow(db, rows + 1, to);
          loadSeconds += (performance.now() - started) / 1000;
          rows = to;
        }
        const size = rows;
        if (size < target) {
          figures.skippedRowCounts.push({ rows: target, projectedSeconds: NaN, reached: size });
        }
        if (figures.latency.some((l) => l.rows === size)) {
          context.progress.step(`stopped at ${size} rows (load budget)`);
          continue;
        }
        const [m] = await compareAsync([{
          name: `${size} rows`,
          run: (i) => db.session.execute(select, [1 + ((i * 7919) % size)], [t.int4]),
        }], { samples: params.samples, sampleMs: 40 });
        figures.latency.push({ rows: size, medianNs: m!.medianNs, ci95Ns: m!.ci95Ns });
        context.progress.step(`point select at ${size} rows: ${formatNs(m!.medianNs)}`);

        if (size === params.throughputAtRows) {
          const script = `${context.workDir}/point.sql`;
          Deno.writeTextFileSync(
            script,
            `\\set k random(1, ${size})\nSELECT v, filler FROM scale_t WHERE id = :k;\n`,
          );
          for (const clients of params.clients) {
            if (binary === undefined) {
              context.progress.step("pgbench not installed");
              continue;
            }
            const run = await timedPgbench(binary, db.target, [
              "-n",
              "-f",
              script,
              "-M",
              "prepared",
              ...loadArgs(clients, params.secondsPerRun),
            ]);
            figures.throughput.push({ rows: size, clients, run });
            context.progress.step(`throughput at ${clients} clients: ${run.tps.toFixed(0)} tps`);
          }
        }
      }
      figures.insertRowsPerSecond = rows / loadSeconds;
      await db.sql("checkpoint");
    } finally {
      await db.stop(true);
    }

    // Pool sizes against the data set just built, each in its own process.
    const imageBytes = Deno.statSync(`${dataDir}/exodb.img`).size;
    figures.pool.rows = rows;
    for (const ratio of params.dataToPool) {
      const poolBytes = Math.max(1024 * 1024, Math.min(2 ** 30, Math.floor(imageBytes / ratio)));
      context.progress.note(`pool ${(poolBytes / 2 ** 20).toFixed(0)} MiB (data/pool ${ratio}×)`);
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./pool_child.ts", import.meta.url).pathname,
          dataDir,
          String(poolBytes),
          String(rows),
          String(params.lookups),
          String(Math.min(rows, 1_000_000)),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!child.success) throw new Error(`pool_child failed for pool ${poolBytes}`);
      figures.pool.points.push(JSON.parse(new TextDecoder().decode(child.stdout)));
      context.progress.step(`pool experiment, data/pool ${ratio}×`);
    }
    Deno.removeSync(dataDir, { recursive: true });

    figures.recovery = await recoveryCurve(params, context);
    return { figures, ...scalingSuite.render!(figures) };
  },
  render: (figures) => ({
    markdown: scalingMarkdown(figures),
    charts: scalingCharts(figures),
    summary: scalingSummary(figures),
  }),
};

/** Rows `from`..`to` of scale_t (id, id % 1000, 'row ' || id), bulk-appended in one transaction. */
async function bulkGrow(db: InProcessExoDb, from: number, to: number): Promise<void> {
  const { storage, catalog } = db.appliance.engine;
  const txn = storage.txns.begin();
  txn.cid++;
  const snapshot = storage.txns.snapshot();
  let table;
  try {
    table = catalog.table("scale_t", txn, snapshot)!;
  } finally {
    storage.txns.release(snapshot);
  }
  function* rows() {
    for (let id = from; id <= to; id++) yield [id, id % 1000, `row ${id}`];
  }
  try {
    bulkAppendSorted(table, txn, rows());
  } catch (error) {
    await storage.txns.rollback(txn);
    throw error;
  }
  await storage.txns.commit(txn);
}

async function recoveryCurve(
  params: ScalingParams,
  context: { workDir: string; progress: { step(label: string): void } },
): Promise<ScalingFigures["recovery"]> {
  const dir = `${context.workDir}/recovery`;
  Deno.mkdirSync(dir);
  const rowCount = 20_000;
  const out: ScalingFigures["recovery"] = [];
  let opened = await openStorage(dir, 64 * 1024 * 1024);
  const int = { id: TypeId.integer, typmod: -1 } as const;
  const text = { id: TypeId.text, typmod: -1 } as const;
  const column = (name: string, type: typeof int | typeof text) => ({
    name,
    type,
    notNull: false,
    defaultSql: null,
    missing: null,
    dropped: false,
    identity: null,
  });
  const ddl = opened.storage.txns.begin();
  ddl.cid++;
  await opened.catalog.createTable(ddl, {
    name: "r",
    columns: [column("k", int), column("v", text), column("n", int)],
    primaryKey: [0],
    primaryKeyName: "r_pkey",
    indexes: [],
    checks: [],
  });
  await opened.storage.txns.commit(ddl);
  const tableOf = (o: typeof opened) => {
    const s = o.storage.txns.snapshot();
    try {
      return o.catalog.table("r", undefined, s)!;
    } finally {
      o.storage.txns.release(s);
    }
  };
  const load = opened.storage.txns.begin();
  load.cid++;
  const table = tableOf(opened);
  for (let k = 0; k < rowCount; k++) await table.insert(load, [k, "x".repeat(60), 0]);
  await opened.storage.txns.commit(load);
  const rng = new Rng(12);
  for (const updates of params.recoveryUpdates) {
    await opened.storage.checkpoint();
    const redo = opened.storage.wal.insertLsn;
    const current = tableOf(opened);
    // Commits of 1,000 updates each: the WAL to replay grows with `updates`.
    for (let done = 0; done < updates; done += 1000) {
      const txn = opened.storage.txns.begin();
      txn.cid++;
      for (let i = 0; i < Math.min(1000, updates - done); i++) {
        await current.update(
          txn,
          current.keyOf([rng.nextInt(rowCount)]),
          (row) => [row[0]!, row[1]!, (row[2] as number) + 1],
        );
      }
      await opened.storage.txns.commit(txn);
    }
    const walBytes = opened.storage.wal.insertLsn - redo;
    opened.abandon(); // a crash: nothing flushed beyond what the log holds
    opened = await openStorage(dir, 64 * 1024 * 1024);
    out.push({ updates, walBytes, recoveryMs: opened.storage.recovery.elapsedMs });
    context.progress.step(
      `recovery of ${(walBytes / 2 ** 20).toFixed(1)} MiB WAL: ${
        opened.storage.recovery.elapsedMs.toFixed(0)
      } ms`,
    );
  }
  await opened.storage.close();
  opened.abandon();
  Deno.removeSync(dir, { recursive: true });
  return out;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

function scalingSummary(f: ScalingFigures): SummaryRow[] {
  const out: SummaryRow[] = [];
  const first = f.latency[0];
  const last = f.latency[f.latency.length - 1];
  if (first && last && last !== first) {
    out.push({
      metric: `scaling: point select at ${last.rows} rows / at ${first.rows} rows (latency)`,
      value: `${formatNs(last.medianNs)} vs ${formatNs(first.medianNs)}`,
      ratio: last.medianNs / first.medianNs,
    });
  }
  const t1 = f.throughput[0];
  const best = [...f.throughput].sort((a, b) => b.run.tps - a.run.tps)[0];
  if (t1 && best) {
    out.push({
      metric: `scaling: best throughput (${best.clients} client(s)) / 1 client`,
      value: `${best.run.tps.toFixed(0)} vs ${t1.run.tps.toFixed(0)} tps`,
      ratio: best.run.tps / t1.run.tps,
    });
  }
  const ten = f.pool.points.find((p) => Math.round(p.imageBytes / p.poolBytes) === 10);
  if (ten) {
    out.push({
      metric: "scaling: data set 10× the pool, RSS / pool",
      value: `${mib(ten.rssBytes)} RSS, ${mib(ten.poolBytes)} pool, ${mib(ten.imageBytes)} data`,
      ratio: ten.rssBytes / ten.poolBytes,
    });
  }
  const r = f.recovery[f.recovery.length - 1];
  if (r) {
    out.push({
      metric: "scaling: recovery",
      value: `${(r.recoveryMs / (r.walBytes / 2 ** 20)).toFixed(1)} ms per MiB of WAL`,
    });
  }
  return out;
}

function scalingCharts(f: ScalingFigures): Chart[] {
  return [
    {
      kind: "line",
      file: "scaling_latency.svg",
      title: "Point-select latency against table size (in process)",
      xLabel: "rows",
      yLabel: "µs per select",
      logX: true,
      series: [{ name: "ExoDB", points: f.latency.map((l) => [l.rows, l.medianNs / 1000]) }],
    },
    {
      kind: "line",
      file: "scaling_clients.svg",
      title: "Point-select throughput against clients (pgbench)",
      xLabel: "clients",
      yLabel: "transactions per second",
      logX: true,
      series: [{ name: "ExoDB tps", points: f.throughput.map((p) => [p.clients, p.run.tps]) }],
    },
    {
      kind: "line",
      file: "scaling_rss.svg",
      title: "Resident memory against buffer pool size",
      xLabel: "pool MiB",
      yLabel: "MiB",
      logX: true,
      series: [
        {
          name: "RSS",
          points: f.pool.points.map((p) => [p.poolBytes / 2 ** 20, p.rssBytes / 2 ** 20]),
        },
        {
          name: "pool",
          points: f.pool.points.map((p) => [p.poolBytes / 2 ** 20, p.poolBytes / 2 ** 20]),
        },
      ],
    },
    {
      kind: "line",
      file: "scaling_pool_latency.svg",
      title: "Point-lookup latency against data set / pool",
      xLabel: "image / pool",
      yLabel: "µs per lookup",
      logX: true,
      series: [{
        name: "lookup",
        points: f.pool.points.map((p) => [p.imageBytes / p.poolBytes, p.lookupMedianNs / 1000]),
      }],
    },
    {
      kind: "line",
      file: "scaling_recovery.svg",
      title: "Recovery time against WAL to replay",
      xLabel: "WAL MiB",
      yLabel: "ms",
      series: [{
        name: "recovery",
        points: f.recovery.map((r) => [r.walBytes / 2 ** 20, r.recoveryMs]),
      }],
    },
  ];
}

function scalingMarkdown(f: ScalingFigures): string {
  const parts = [
    "### Point-select latency against table size",
    "",
    "A prepared `select v, filler from scale_t where id = $1` in process (plan cache hit), keys",
    `spread over the table; the table grew ${
      f.loadMethod === "bulk append"
        ? "by bulk append in key order (dbengine/bulk_append.ts: first versions written straight to the row tree, one page-change group per 512 rows, WAL-logged as usual), committed"
        : "by INSERT … SELECT generate_series"
    } in batches of`,
    `${batchRows.toLocaleString("en")} rows at ${
      f.insertRowsPerSecond.toFixed(0)
    } rows/s, pool 256 MiB.`,
    "",
    markdownTable(
      ["rows", "median", "±95%"],
      f.latency.map((l) => [l.rows, formatNs(l.medianNs), formatNs(l.ci95Ns)]),
    ),
    "",
    ...f.skippedRowCounts.map((s) =>
      s.reached !== undefined
        ? `Not reached: ${s.rows.toLocaleString("en")} rows. The load budget (${
          f.loadBudgetSeconds ?? "?"
        } s of ${f.loadMethod ?? "INSERT … SELECT"}) ran out at ${
          s.reached.toLocaleString("en")
        } rows, which were measured instead.`
        : `Not measured: ${s.rows.toLocaleString("en")} rows (the run's load budget was spent).`
    ),
    "",
    "![latency against rows](scaling_latency.svg)",
    "",
    "### Throughput against clients",
    "",
    f.throughput.length === 0
      ? "Not measured (pgbench not installed)."
      : `pgbench \`-M prepared\` point selects on the ${
        f.throughput[0]!.rows
      }-row table, ExoDB in process.`,
    "",
    markdownTable(
      ["clients", "tps", "p50 ms", "p99 ms"],
      f.throughput.map((
        p,
      ) => [p.clients, p.run.tps.toFixed(0), p.run.p50Ms.toFixed(3), p.run.p99Ms.toFixed(3)]),
    ),
    "",
    "![throughput against clients](scaling_clients.svg)",
    "",
    "### Data set against buffer pool (RSS)",
    "",
    `The ${
      f.pool.rows.toLocaleString("en")
    }-row table opened by a fresh process per pool size: random`,
    "point lookups (median per lookup after a warm pass), a scan of up to 1M rows, then RSS.",
    "The image grows in 16 MiB extents, so it exceeds the data set by less than 16 MiB.",
    "",
    markdownTable(
      ["pool", "image (data set)", "image / pool", "lookup median", "RSS", "RSS at start"],
      f.pool.points.map((p) => [
        mib(p.poolBytes),
        mib(p.imageBytes),
        `${(p.imageBytes / p.poolBytes).toFixed(1)}×`,
        formatNs(p.lookupMedianNs),
        mib(p.rssBytes),
        mib(p.rssAtStartBytes),
      ]),
    ),
    "",
    "![RSS against pool](scaling_rss.svg) ![lookups against data / pool](scaling_pool_latency.svg)",
    "",
    "### Recovery time against WAL size",
    "",
    "Updates committed after a checkpoint, then the devices closed without flushing (a crash) and",
    "the directory opened again: redo time as the storage engine reports it.",
    "",
    markdownTable(
      ["updates", "WAL to replay", "recovery", "ms per MiB"],
      f.recovery.map((r) => [
        r.updates,
        `${(r.walBytes / 2 ** 20).toFixed(1)} MiB`,
        `${r.recoveryMs.toFixed(0)} ms`,
        (r.recoveryMs / (r.walBytes / 2 ** 20)).toFixed(1),
      ]),
    ),
    "",
    "![recovery against WAL](scaling_recovery.svg)",
  ];
  return parts.join("\n");
}
