/**
 * pgbench select-only (-S -M prepared) against ExoDB and a throw-away PostgreSQL 15 in the same
 * run, with the same pgbench binary: at 1 and 8 clients, runs interleaved A B A B, and the ratio
 * is the median of the per-pair ratios (drift on a shared machine hits both sides of a pair).
 *
 * ExoDB runs as a separate process started through the CLI (`cli.ts start`), as a user would
 * run it, so both servers are one process apart from pgbench. PostgreSQL runs with its defaults
 * (fsync on) from tests/_support/pg_cluster.ts.
 *
 * Run: deno task bench:pgbench [--quick]   (writes bench/results/pgbench.json, or
 * pgbench.quick.json with --quick)
 */
import { machineLine, saveResult } from "./harness.ts";
import { findPgBinDir, startPgCluster } from "../tests/_support/pg_cluster.ts";
import {
  loadArgs,
  parseTps as tps,
  pgbench,
  pgbenchPath,
  type PgbenchTarget as Target,
  startExoDb,
} from "./runner/pgbench.ts";

const quick = Deno.args.includes("--quick");
const pairs = quick ? 1 : 5;
const secondsPerRun = quick ? 1 : 5;
const clientCounts = [1, 8];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const binary = pgbenchPath();
if (binary === undefined || findPgBinDir() === undefined) {
  console.log("skipped: pgbench and PostgreSQL 15 are not installed (apt-get install postgresql)");
  Deno.exit(0);
}
const exodb = await startExoDb();
const postgres = await startPgCluster();
try {
  const exoTarget: Target = { ...exodb.target, name: "ExoDB" };
  const pgTarget: Target = {
    name: "PostgreSQL",
    env: {
      PGHOST: "127.0.0.1",
      PGPORT: String(postgres.port),
      PGUSER: postgres.user,
      PGDATABASE: "postgres",
    },
  };
  for (const target of [exoTarget, pgTarget]) {
    await pgbench(binary, target, ["-i", "-s", "1", "-q"]);
  }
  const version = (await new Deno.Command(binary, { args: ["--version"] }).output()).stdout;
  const rows = [];
  for (const clients of clientCounts) {
    const args = [
      "-n",
      "-S",
      "-M",
      "prepared",
      ...loadArgs(clients, secondsPerRun),
    ];
    const exoTps: number[] = [];
    const pgTps: number[] = [];
    const ratios: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      // A B, then B A on the next pair: neither side always runs first.
      const order = pair % 2 === 0 ? [exoTarget, pgTarget] : [pgTarget, exoTarget];
      const measured = new Map<string, number>();
      for (const target of order) {
        measured.set(target.name, tps(await pgbench(binary, target, args)));
      }
      exoTps.push(measured.get("ExoDB")!);
      pgTps.push(measured.get("PostgreSQL")!);
      ratios.push(measured.get("ExoDB")! / measured.get("PostgreSQL")!);
    }
    rows.push({
      clients,
      exodbTps: median(exoTps),
      postgresTps: median(pgTps),
      ratio: median(ratios),
      exodbTpsRuns: exoTps,
      postgresTpsRuns: pgTps,
      ratios,
    });
  }
  console.log(
    `\npgbench -S -M prepared, scale 1, ${pairs} interleaved pair(s) of ${secondsPerRun} s per client count`,
  );
  console.log(`${machineLine()}; ${new TextDecoder().decode(version).trim()}\n`);
  console.log("| clients | ExoDB tps | PostgreSQL 15 tps | ExoDB / PostgreSQL (median of pairs) |");
  console.log("|---:|---:|---:|---:|");
  for (const row of rows) {
    console.log(
      `| ${row.clients} | ${row.exodbTps.toFixed(0)} | ${row.postgresTps.toFixed(0)} | ${
        row.ratio.toFixed(2)
      }× |`,
    );
  }
  const path = saveResult(quick ? "pgbench.quick" : "pgbench", {
    machine: machineLine(),
    pgbench: new TextDecoder().decode(version).trim(),
    exodb: "separate process via cli.ts start (pool 128MiB)",
    postgres: "PostgreSQL 15 defaults (fsync on), tests/_support/pg_cluster.ts",
    secondsPerRun,
    pairs,
    rows,
  });
  console.log(`\nwritten ${path}`);
} finally {
  await exodb.stop();
  await postgres.stop();
}
