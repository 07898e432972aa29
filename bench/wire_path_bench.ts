/**
 * What one prepared statement costs the kernel thread on the way through the wire protocol,
 * the session and the scheduler, without a socket: a point select (or `SELECT 1`) run
 *   - as a client would send it, Bind/Describe/Execute/Sync through kernel/pg_session.ts over
 *     an in-memory connection (bench/runner/memory_connection.ts);
 *   - through SqlSession as a task of the scheduler (what pg_session calls);
 *   - through SqlSession directly.
 * One session at a time on an in-process exo appliance; the best of `rounds` rounds of
 * `statements` statements, rounds of the three interleaved (a shared machine's noise only ever
 * adds). With `heap`, also the bytes allocated per statement on each path (V8's sampling heap
 * profiler, objects collected meanwhile included).
 *
 *   deno task bench:wire-path [point|one] [rounds=8] [statements=20000] [heap]
 */
import { Session } from "node:inspector/promises";
import { Logger } from "../kernel/log.ts";
import { servePostgres } from "../kernel/pg_session.ts";
import { parseSql } from "../query/sql_parser.ts";
import { SqlSession } from "../query/sql_session.ts";
import { t } from "../query/sql_types.ts";
import { bootInProcess } from "./runner/in_process.ts";
import {
  bindExecuteSync,
  cString,
  frontendMessage,
  int16Bytes,
  MemoryConnection,
  startupMessage,
} from "./runner/memory_connection.ts";

const point = Deno.args[0] !== "one";
const rounds = Number(Deno.args[1] ?? 8);
const statements = Number(Deno.args[2] ?? 20_000);
const withHeap = Deno.args.includes("heap");
const sql = point ? "SELECT v FROM kv WHERE k = $1" : "SELECT 1";
const params = point ? [42] : [];

const dataDir = await Deno.makeTempDir({ prefix: "exodb-wire-path-" });
const db = await bootInProcess({ dataDir: `${dataDir}/data`, profile: "exo" });
await db.sql(
  "create table kv (k int primary key, v int); " +
    "insert into kv select g, g from generate_series(1, 1000) g",
);
const statement = parseSql(sql)[0]!.statement;
const paramTypes = params.map(() => t.int4);
const parseMessage = frontendMessage("P", [...cString("s"), ...cString(sql), ...int16Bytes(0)]);
const bindMessage = bindExecuteSync("s", params);

/** µs per statement over the wire. */
async function wire(): Promise<number> {
  const connection = new MemoryConnection();
  const served = servePostgres(connection, db.appliance, new Logger("error", () => {}));
  await connection.roundTrip(startupMessage());
  await connection.roundTrip(new Uint8Array([...parseMessage, ...frontendMessage("S", [])]));
  const start = performance.now();
  for (let i = 0; i < statements; i++) await connection.roundTrip(bindMessage);
  const us = (performance.now() - start) * 1000 / statements;
  connection.close();
  await served;
  return us;
}

/** µs per statement through SqlSession, as a scheduler task or directly. */
async function session(tasked: boolean): Promise<number> {
  const s = new SqlSession(() => db.appliance.engine);
  if (tasked) s.taskRunner = db.appliance.scheduler.runner;
  const start = performance.now();
  for (let i = 0; i < statements; i++) await s.execute(statement, params, paramTypes);
  return (performance.now() - start) * 1000 / statements;
}

const paths: Record<string, () => Promise<number>> = {
  "wire (pg_session)": wire,
  "session, scheduled": () => session(true),
  "session, direct": () => session(false),
};
for (const run of Object.values(paths)) await run(); // warm-up: JIT and caches
const best = new Map<string, number>();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(paths)) {
    best.set(name, Math.min(best.get(name) ?? Infinity, await run()));
  }
}
console.log(`${sql}: best of ${rounds} rounds of ${statements} statements, µs per statement`);
for (const [name, us] of best) console.log(`  ${name.padEnd(20)} ${us.toFixed(2)}`);

if (withHeap) {
  const inspector = new Session();
  inspector.connect();
  await inspector.post("HeapProfiler.enable");
  for (const [name, run] of Object.entries(paths)) {
    await inspector.post("HeapProfiler.startSampling", {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await run();
    const { profile } = await inspector.post("HeapProfiler.stopSampling");
    let bytes = 0;
    const walk = (node: typeof profile.head) => {
      bytes += node.selfSize;
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    console.log(`  ${name.padEnd(20)} ${(bytes / statements / 1024).toFixed(1)} KiB allocated`);
  }
  inspector.disconnect();
}
await db.stop();
Deno.exit(0);
