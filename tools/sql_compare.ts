/**
 * Runs a SQL file (statements end with `;` at a line end) against a throw-away PostgreSQL and
 * an in-process ExoDB through the same client, printing every statement whose result differs:
 * `deno task sql:compare FILE`.
 */
import pg from "pg";
import { startPgCluster } from "../tests/_support/pg_cluster.ts";
import { boot } from "../kernel/boot.ts";
import { resolveConfig } from "../kernel/config.ts";
import { Logger } from "../kernel/log.ts";
const sql = Deno.readTextFileSync(Deno.args[0]!).split(/;\s*\n/).map((s) => s.trim()).filter(
  Boolean,
);
const cluster = await startPgCluster();
const dataDir = Deno.makeTempDirSync();
const r = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "8MiB" }, {});
if (!r.ok) throw new Error("config");
const app = await boot(r.config, new Logger("error", () => {}));
const types = { getTypeParser: () => (v: string) => v };
const a = new pg.Client({
  host: "127.0.0.1",
  port: cluster.port,
  user: "postgres",
  database: "postgres",
  types,
});
const b = new pg.Client({
  host: "127.0.0.1",
  port: app.listener.port,
  user: "exodb",
  database: "exodb",
  types,
});
await a.connect();
await b.connect();
const show = async (c: pg.Client, q: string) => {
  try {
    const res = await c.query(q);
    return `${res.command} ${res.rowCount ?? ""} ${
      JSON.stringify(res.fields?.map((f: { name: string }) => f.name))
    } ${JSON.stringify(res.rows?.map((x: Record<string, unknown>) => Object.values(x)))}`;
  } catch (e) {
    return `ERR ${(e as { code?: string }).code} ${(e as Error).message}`;
  }
};
let diffs = 0;
for (const q of sql) {
  const [x, y] = [await show(a, q), await show(b, q)];
  if (x !== y) {
    diffs++;
    console.log(`-- ${q}\n  PG:   ${x}\n  EXO:  ${y}`);
  }
}
console.log(`${sql.length} statements, ${diffs} differ`);
await a.end();
await b.end();
await app.shutdown();
await cluster.stop();
