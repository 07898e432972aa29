/**
 * The background vacuum in slices vs one synchronous pass per table, side by side in one run:
 * how long the pass holds the kernel thread at a stretch, how long it takes in all, and how long
 * an interactive task spawned during it waits for the thread.
 *
 * One in-process appliance (a temporary data directory, the fair scheduler) holds a
 * pgbench_accounts-like table; before each run `dirtyKeys` of its rows are updated (so that many
 * keys are noted for vacuum, as TPC-B leaves them), then one pass runs in the background class:
 * - `one-shot`: the pass as it was, `table.vacuum(0)` inside one background task (no yield);
 * - `sliced`: `Maintenance.vacuumNow()` (steps of `vacuumStepKeys` keys, a yield whenever the
 *   background slice is used), its longest slice from `stats.vacuumSliceMsMax`.
 * Meanwhile a probe spawns interactive tasks back to back (each a primary-key read, then a
 * turn of the event loop) and records when each one starts: the longest gap between two starts
 * during the pass is the longest a client statement could have been kept off the thread. Runs alternate one-shot, sliced, sliced, one-shot, … so
 * drift hits both; the table reports medians over the runs of each.
 *
 * Run: deno task bench:vacuum [--quick]   (writes bench/results/vacuum_slices.json, or
 * vacuum_slices.quick.json)
 */
import { setImmediate } from "node:timers";
import { boot } from "../kernel/boot.ts";
import { resolveConfig } from "../kernel/config.ts";
import { Logger } from "../kernel/log.ts";
import { startMaintenance } from "../kernel/maintenance.ts";
import { parseSql } from "../query/sql_parser.ts";
import { SqlSession } from "../query/sql_session.ts";
import { machineLine, saveResult } from "./harness.ts";
import { markdownTable, median, quantile } from "./runner/suite.ts";

const quick = Deno.args.includes("--quick");
const params = quick
  ? { rows: 10_000, dirtyKeys: 5_000, repeats: 2 }
  : { rows: 100_000, dirtyKeys: 50_000, repeats: 3 };

/** `sliced-idle`: the sliced pass with no probe running (what slicing itself costs). */
type Mode = "one-shot" | "sliced" | "sliced-idle";

interface Run {
  mode: Mode;
  /** Versions the pass removed. */
  removed: number;
  /** The longest the pass held the thread without yielding, in ms. */
  maxHoldMs: number;
  /** From the pass's spawn to its end, in ms. */
  totalMs: number;
  /** Slices the pass ran in. */
  slices: number;
  /** Probe tasks that ran during the pass. */
  probes: number;
  /** The longest gap between two probe starts during the pass, in ms. */
  probeGapMaxMs: number;
  /** The 99th percentile of those gaps, in ms. */
  probeGapP99Ms: number;
}

const dataDir = Deno.makeTempDirSync({ prefix: "exodb-vacuum-bench-" });
const config = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "128MiB" }, {});
if (!config.ok) throw new Error("configuration refused");
const logger = new Logger("error", () => {});
const appliance = await boot(config.config, logger);
const runs: Run[] = [];
try {
  // The appliance's own timers stay out of the measurement; each sliced run starts its own.
  await appliance.engine.maintenance.stop();
  const session = new SqlSession(() => appliance.engine);
  const run = async (sql: string) => {
    for (const { statement } of parseSql(sql)) await session.execute(statement);
  };
  await run(
    "CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
  );
  await run(
    `INSERT INTO accounts SELECT g, g / 100000, 0, '' FROM generate_series(1, ${params.rows}) g`,
  );
  const { catalog, storage } = appliance.engine;
  const snapshot = storage.txns.snapshot();
  const table = catalog.table("accounts", undefined, snapshot)!;
  storage.txns.release(snapshot);
  table.vacuum(0);
  const scheduler = appliance.scheduler;
  const probeKey = table.rowKey([1, null, null, null]);

  const modes: Mode[] = [];
  for (let r = 0; r < params.repeats; r++) {
    const round: Mode[] = ["one-shot", "sliced", "sliced-idle"];
    modes.push(...(r % 2 === 0 ? round : round.reverse()));
  }
  for (const mode of modes) {
    // Spread over the table, as TPC-B's random account updates are.
    const every = Math.max(1, Math.floor(params.rows / params.dirtyKeys));
    await run(`UPDATE accounts SET abalance = abalance + 1 WHERE aid % ${every} = 0`);
    const starts: number[] = [];
    let passDone = false;
    const probe = (async () => {
      while (!passDone && mode !== "sliced-idle") {
        await scheduler.spawn("interactive", "probe", () => {
          starts.push(performance.now());
          table.rows.get(probeKey, undefined, storage.txns.lastCommitCsn);
          return Promise.resolve();
        });
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 5)); // the probe is running
    const startedMs = performance.now();
    let result: Run;
    if (mode === "one-shot") {
      let holdMs = 0;
      let removed = 0;
      await scheduler.spawn("background", "vacuum", () => {
        const holdStartMs = performance.now();
        removed = table.vacuum(0).versions; // one synchronous pass: the old maintenance step
        holdMs = performance.now() - holdStartMs;
        return Promise.resolve();
      });
      result = {
        mode,
        removed,
        maxHoldMs: holdMs,
        totalMs: performance.now() - startedMs,
        slices: 1,
        probes: 0,
        probeGapMaxMs: 0,
        probeGapP99Ms: 0,
      };
    } else {
      const maintenance = startMaintenance(storage, catalog, logger, {
        scheduler,
        vacuumIntervalMs: 3_600_000,
        checkpointIntervalMs: 3_600_000,
      });
      await maintenance.vacuumNow();
      const stats = maintenance.stats;
      result = {
        mode,
        removed: stats.versionsRemoved,
        maxHoldMs: stats.vacuumSliceMsMax,
        totalMs: performance.now() - startedMs,
        slices: stats.vacuumSlices,
        probes: 0,
        probeGapMaxMs: 0,
        probeGapP99Ms: 0,
      };
      await maintenance.stop();
    }
    const endedMs = performance.now();
    passDone = true;
    await probe;
    // Gaps between consecutive starts inside the pass, the pass's start and end included.
    const inside = [startedMs, ...starts.filter((t) => t > startedMs && t < endedMs), endedMs];
    const gaps = inside.slice(1).map((t, i) => t - inside[i]!);
    result.probes = inside.length - 2;
    result.probeGapMaxMs = mode === "sliced-idle" ? NaN : gaps.reduce((a, b) => Math.max(a, b), 0);
    result.probeGapP99Ms = mode === "sliced-idle" ? NaN : quantile(gaps, 0.99);
    runs.push(result);
    console.error(`${mode}: ${JSON.stringify(result)}`);
  }
} finally {
  await appliance.shutdown();
  Deno.removeSync(dataDir, { recursive: true });
}

const fmt = (ms: number) => ms.toFixed(2);
const rowsOf = (mode: Mode) => runs.filter((r) => r.mode === mode);
const summary = (["one-shot", "sliced", "sliced-idle"] as const).map((mode) => {
  const of = rowsOf(mode);
  const med = (pick: (r: Run) => number) => median(of.map(pick));
  return [
    mode,
    of.length,
    med((r) => r.removed),
    fmt(med((r) => r.maxHoldMs)),
    fmt(med((r) => r.totalMs)),
    med((r) => r.slices),
    med((r) => r.probes),
    fmt(med((r) => r.probeGapMaxMs)),
    fmt(med((r) => r.probeGapP99Ms)),
  ];
});
console.log(`Vacuum of ${params.dirtyKeys} noted keys (table of ${params.rows} rows), medians`);
console.log(machineLine());
console.log(markdownTable(
  [
    "pass",
    "runs",
    "versions removed",
    "longest hold ms",
    "pass ms",
    "slices",
    "probes during pass",
    "longest probe gap ms",
    "probe gap p99 ms",
  ],
  summary,
));
const path = saveResult(quick ? "vacuum_slices.quick" : "vacuum_slices", { params, runs });
console.log(`written to ${path}`);
