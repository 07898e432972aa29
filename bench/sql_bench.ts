/**
 * The SQL engine's benchmarks (issue 4), side by side in one run:
 * 1. In-process prepared point select by primary key: ExoDB's SqlSession (plan cache hit, and
 *    miss: parse and plan every time) beside node:sqlite's prepared statement, same rows.
 * 2. A join + aggregate over 100k rows beside a throw-away PostgreSQL 15 on the same data,
 *    both through the same client (node-postgres) over loopback, runs interleaved.
 *
 * `deno task bench:sql [--quick]`; results in bench/results/sql.json.
 */
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { boot } from "../kernel/boot.ts";
import { resolveConfig } from "../kernel/config.ts";
import { Logger } from "../kernel/log.ts";
import { parseSql } from "../query/sql_parser.ts";
import { SqlSession } from "../query/sql_session.ts";
import { t } from "../query/sql_types.ts";
import { findPgBinDir, pgMissingMessage, startPgCluster } from "../tests/_support/pg_cluster.ts";
import {
  compare,
  compareAsync,
  formatNs,
  machineLine,
  type Measurement,
  saveResult,
  table,
} from "./harness.ts";

const quick = Deno.args.includes("--quick");
const lookupRows = quick ? 10_000 : 100_000;
const joinRows = quick ? 10_000 : 100_000;
const samples = quick ? 5 : 15;

console.log(`SQL engine — ${machineLine()}${quick ? " (quick)" : ""}\n`);

const dataDir = Deno.makeTempDirSync({ prefix: "exodb-sqlbench-" });
const config = resolveConfig({
  "data-dir": dataDir,
  port: "0",
  "pool-size": "256MiB",
  "image-size": "64MiB",
  "log-size": "256MiB",
}, {});
if (!config.ok) throw new Error("bench configuration is invalid");
const appliance = await boot(config.config, new Logger("error", () => {}));
const session = new SqlSession(() => appliance.engine);
const run = async (sql: string) => {
  for (const { statement } of parseSql(sql)) await session.execute(statement);
};

// ------------------------------------------------------------ 1. point select
await run("create table kv (id int primary key, name text, qty int)");
await run(
  `insert into kv select g, 'name-' || g::text, g % 1000 from generate_series(1, ${lookupRows}) g`,
);
const sqlitePath = `${dataDir}/sqlite.db`;
const sqlite = new DatabaseSync(sqlitePath);
sqlite.exec("create table kv (id integer primary key, name text, qty integer)");
const sqliteInsert = sqlite.prepare("insert into kv values (?, ?, ?)");
sqlite.exec("begin");
for (let k = 1; k <= lookupRows; k++) sqliteInsert.run(k, `name-${k}`, k % 1000);
sqlite.exec("commit");
const sqliteSelect = sqlite.prepare("select * from kv where id = ?");

const pointSql = "select * from kv where id = $1";
const prepared = parseSql(pointSql)[0]!.statement;
const key = (i: number) => (i * 7919) % lookupRows + 1;
const hitsBefore = session.planCacheHits;
const point = await compareAsync([
  {
    name: "ExoDB prepared (plan cache hit)",
    run: (i) => session.execute(prepared, [key(i)], [t.int4]),
  },
  {
    name: "ExoDB parse + plan each time (miss)",
    run: (i) => session.execute(parseSql(pointSql)[0]!.statement, [key(i)], [t.int4]),
  },
  { name: "node:sqlite prepared", run: (i) => Promise.resolve(sqliteSelect.get(key(i))) },
], { samples });
const hits = session.planCacheHits - hitsBefore;
console.log("### Prepared point select by primary key, in process\n");
console.log(table(point, "node:sqlite prepared"));
console.log(`\n(${lookupRows} rows; ${hits} plan cache hits during the run)\n`);
// The synchronous floor of node:sqlite, for reference: no promise per call.
const sqliteSync = compare([{
  name: "node:sqlite prepared (sync)",
  run: (i) => sqliteSelect.get(key(i)),
}], {
  samples,
});
console.log(`node:sqlite without a promise per call: ${formatNs(sqliteSync[0]!.medianNs)}\n`);
sqlite.close();

// ------------------------------------------------------------ 2. join + aggregate
const joinSql =
  "select f.grp, count(*), sum(d.amount) from facts f join dims d on d.id = f.dim_id group by f.grp order by f.grp";
const schema = [
  "create table dims (id int primary key, amount int)",
  "create table facts (id int primary key, dim_id int, grp int)",
  `insert into dims select g, g % 97 from generate_series(1, ${joinRows}) g`,
  `insert into facts select g, (g * 13) % ${joinRows} + 1, g % 50 from generate_series(1, ${joinRows}) g`,
  "analyze",
];
let joinResult: Measurement[] | undefined;
let pgVersion = "not run";
const exoPort = appliance.listener.port;
const types = { getTypeParser: () => (value: string) => value };
const exoClient = new pg.Client({
  host: "127.0.0.1",
  port: exoPort,
  user: "exodb",
  database: "exodb",
  types,
});
await exoClient.connect();
for (const sql of schema) await exoClient.query(sql);
if (findPgBinDir() === undefined) {
  console.log(pgMissingMessage);
} else {
  const cluster = await startPgCluster();
  try {
    const pgClient = new pg.Client({
      host: "127.0.0.1",
      port: cluster.port,
      user: cluster.user,
      database: "postgres",
      types,
    });
    await pgClient.connect();
    for (const sql of schema) await pgClient.query(sql);
    pgVersion = (await pgClient.query("show server_version")).rows[0].server_version;
    const [a, b] = [
      (await exoClient.query(joinSql)).rows,
      (await pgClient.query(joinSql)).rows,
    ];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new Error("ExoDB and PostgreSQL disagree on the join + aggregate result");
    }
    joinResult = await compareAsync([
      { name: "ExoDB", run: () => exoClient.query(joinSql) },
      { name: `PostgreSQL ${pgVersion}`, run: () => pgClient.query(joinSql) },
    ], { samples: quick ? 3 : 7, sampleMs: 1 });
    await pgClient.end();
  } finally {
    await cluster.stop();
  }
  console.log(`### Join + aggregate over ${joinRows} rows, node-postgres over loopback\n`);
  console.log(table(joinResult, `PostgreSQL ${pgVersion}`));
  console.log(`\n\`${joinSql}\` (same result rows from both checked)\n`);
}
await exoClient.end();
await appliance.shutdown();
Deno.removeSync(dataDir, { recursive: true });

const path = saveResult(quick ? "sql_quick" : "sql", {
  machine: machineLine(),
  quick,
  lookupRows,
  joinRows,
  pointSelect: point,
  pointSelectSqliteSync: sqliteSync,
  planCacheHits: hits,
  joinAggregate: joinResult ?? null,
  postgresql: pgVersion,
});
console.log(`results: ${path}`);
