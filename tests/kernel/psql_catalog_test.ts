/**
 * psql's describe commands and postgres.js's startup type query against ExoDB's system catalogs,
 * compared with a throw-away PostgreSQL 15 holding the same schema.
 *
 * Normalized, because they must differ:
 * - the port in `\conninfo` (two servers on two free ports);
 * - `\l`: PostgreSQL also lists template0 and template1; ExoDB serves one database. `\l` is read
 *   unaligned (-A) so dropping those two rows and fixing the row count leaves column widths alone.
 * Nothing else: both are reached as user "postgres", database "postgres" (ExoDB's single role
 * takes the login name), so owners and names are the same on both sides.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { findPgBinDir, pgMissingMessage, startPgCluster } from "../_support/pg_cluster.ts";

const schema = [
  "create table t (id int primary key, name text not null default 'x', v numeric(10,2), " +
  "ts timestamptz default now(), code varchar(8) unique, n bigint)",
  "create table u (a int, b text, c boolean not null)",
];

const commands = ["\\dt", "\\d t", "\\d u", "\\di", "\\dn", "\\d", "\\conninfo"];

async function withExoDB(body: (port: number) => Promise<void>): Promise<void> {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-psql-" });
  const result = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "8MiB" }, {});
  assert.ok(result.ok);
  const appliance = await boot(result.config, new Logger("error", () => {}));
  try {
    await body(appliance.listener.port);
  } finally {
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
}

async function psql(binDir: string, port: number, args: string[]): Promise<string> {
  const output = await new Deno.Command(`${binDir}/psql`, {
    args: [
      "-X",
      "-P",
      "pager=off",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PGCONNECT_TIMEOUT: "10" },
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return text;
}

/** Every command's output, schema created first. */
async function describe(binDir: string, port: number): Promise<Map<string, string>> {
  for (const statement of schema) {
    const out = await psql(binDir, port, ["-v", "ON_ERROR_STOP=1", "-c", statement]);
    assert.match(out, /CREATE TABLE/, `${statement}: ${out}`);
  }
  const outputs = new Map<string, string>();
  for (const command of commands) {
    outputs.set(
      command,
      (await psql(binDir, port, ["-c", command])).replace(/port "\d+"/, 'port "N"'),
    );
  }
  outputs.set("\\l", await psql(binDir, port, ["-A", "-c", "\\l"]));
  return outputs;
}

const binDir = findPgBinDir();

Deno.test({
  name: "psql \\dt, \\d, \\di, \\dn, \\l and \\conninfo print what PostgreSQL 15 prints",
  ignore: binDir === undefined,
  async fn() {
    const pg = await startPgCluster();
    let reference: Map<string, string>;
    try {
      reference = await describe(binDir!, pg.port);
    } finally {
      await pg.stop();
    }
    await withExoDB(async (port) => {
      const exodb = await describe(binDir!, port);
      for (const command of commands) {
        assert.equal(exodb.get(command), reference.get(command), `psql ${command}`);
      }
      // \l: PostgreSQL's template databases are not ExoDB's; the rest must match.
      // A template row's multi-line ACL continues on lines with fewer field separators.
      const lines: string[] = [];
      let skipping = false;
      for (const line of reference.get("\\l")!.split("\n")) {
        const fields = line.split("|").length;
        if (/^template[01]\|/.test(line)) skipping = true;
        else if (!skipping || fields === 8 || /^\(\d+ rows?\)$/.test(line)) {
          skipping = false;
          lines.push(line);
        }
      }
      const expected = lines.join("\n").replace("(3 rows)", "(1 row)");
      assert.equal(exodb.get("\\l"), expected, "psql \\l");
    });
  },
});
if (binDir === undefined) console.log(pgMissingMessage);

Deno.test("postgres.js with default options (type fetching on) connects and queries", async () => {
  await withExoDB(async (port) => {
    const sql = postgres({
      host: "127.0.0.1",
      port,
      user: "postgres",
      database: "postgres",
      max: 1,
      onnotice: () => {},
    });
    try {
      const [row] = await sql`select 1 as one, ${"two"}::text as two`;
      assert.deepEqual({ ...row }, { one: 1, two: "two" });
      // The array types came from its pg_type query: int4[] arrives parsed.
      const [arrays] = await sql`select array[1, 2, 3] as a`;
      assert.deepEqual(arrays!.a, [1, 2, 3]);
      await sql`create table kv (k text primary key, v int)`;
      await sql`insert into kv ${sql([{ k: "a", v: 1 }, { k: "b", v: 2 }])}`;
      const rows = await sql`select k, v from kv where v > ${0} order by k`;
      assert.deepEqual(rows.map((r) => ({ ...r })), [{ k: "a", v: 1 }, { k: "b", v: 2 }]);
      const [catalog] =
        await sql`select count(*)::int as n from pg_catalog.pg_class where relname = 'kv'`;
      assert.equal(catalog!.n, 1);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
