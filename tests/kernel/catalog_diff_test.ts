/**
 * Catalog queries and catalog functions, differential against PostgreSQL 15: the same schema on
 * both servers, the same queries through node-postgres with every value kept as the server's
 * text, the same rows (or the same SQLSTATE and message) expected. Oids of user objects differ
 * between the two servers, so queries print names (regclass, regtype) rather than user oids.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { findPgBinDir, pgMissingMessage, startPgCluster } from "../_support/pg_cluster.ts";

const schema = [
  "create table t (id int primary key, name text not null default 'x', v numeric(10,2), " +
  "code varchar(8) unique, flag boolean)",
  "create table u (a int, b text)",
  "create table ck (v numeric check (v > 0), w int check (w >= -1 and w < 100), " +
  "s text check (s <> ''), f float8 check (f < 1.5), constraint named check (v < 1000.5))",
];

const queries = [
  // size formatting and type names
  "select pg_size_pretty(10239::bigint), pg_size_pretty(10240::bigint), pg_size_pretty(1048576::bigint), pg_size_pretty(10485760::bigint), pg_size_pretty(123456789012::bigint), pg_size_pretty(-20480::bigint)",
  "select format_type(23, -1), format_type(1043, 24), format_type(1700, 655366), format_type(1042, -1), format_type(1042, 14), format_type(1184, -1), format_type(1007, -1), format_type(18, -1), format_type(19, -1), format_type(null, -1)",
  "select quote_ident('foo'), quote_ident('Foo'), quote_ident('select'), quote_ident('a b'), quote_ident('x\"y')",
  "select pg_encoding_to_char(6), array_to_string(array[1, 2, 3], ','), array_to_string(array['a', null, 'c'], '-', '*')",
  // reg* types
  "select 'pg_class'::regclass::oid, 'pg_class'::regclass, 'pg_catalog.pg_type'::regclass::oid, 'integer'::regtype, 'int4'::regtype::oid, 'character varying'::regtype, 'pg_catalog'::regnamespace::oid, 't'::regclass",
  "select 1259::regclass, 23::regtype, 2200::regnamespace, 't'::regclass::text, 'pg_class'::regclass = 1259",
  "select 'nosuch'::regclass",
  "select 'nosuchtype'::regtype",
  // regular expressions
  "select 'abc' ~ 'b', 'abc' ~ '^b', 'ABC' ~* 'b', 'abc' !~ 'z', 'abc' !~* 'B', 'pg_toast' ~ '^pg_', 'a.c' ~ '^a\\.c$'",
  "select 'x' ~ '('",
  "select 'Hello World' ~ '\\mWorld', 'Hello World' ~ 'o\\M', 'foo bar' ~ '\\yba', 'foo bar' ~ 'o\\Yb', 'a1' ~ '^[[:alpha:]][[:digit:]]$', 'ABC' ~ '(?i)abc', 'a.c' ~ '***=a.c', 'abc' ~ '***=a.c', E'x\\ny' ~ 'x.y', E'x\\ny' ~ '^y', 'a]b' ~ '[]]', 'x y' ~ '[[:space:]]', 'ab' ~* '^A[[:upper:]]$'",
  "select 'abc' ~ 'a{2,1}'",
  "select 'abc' ~ '[[:nosuch:]]'",
  "select 'abc' OPERATOR(pg_catalog.~) '^(abc)$' COLLATE pg_catalog.default, 'ab' ~ '[[:alpha:]]{2}'",
  // arrays
  "select 2 = any(array[1, 2]), 3 = all(array[3, 3]), 4 = any(array[1, null]), 'b' = any('{a,b}'::text[]), (array[10, 20, 30])[2], array_upper(array[1, 2, 3], 1)",
  "select array[1, 2] || array[3], array[1] || 2, 0 || array[1], array['a'] || array['b', 'c']",
  "select array(select relname from pg_class where relname in ('t', 'u') order by 1)",
  // the catalog
  "select relname, relkind, relnamespace::regnamespace, relhasindex, relpersistence, relnatts, relchecks from pg_class where relname in ('t', 'u', 't_pkey', 't_code_key') order by 1",
  "select attname, atttypid::regtype, atttypmod, attnum, attnotnull, atthasdef, attisdropped, attidentity from pg_attribute where attrelid = 't'::regclass and attnum > 0 order by attnum",
  "select c2.relname, i.indisprimary, i.indisunique, pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 0, true) from pg_index i join pg_class c2 on c2.oid = i.indexrelid where i.indrelid = 't'::regclass order by 1",
  "select conname, contype, pg_get_constraintdef(oid), pg_get_constraintdef(oid, true), conrelid::regclass from pg_constraint where conrelid = 't'::regclass order by 1",
  "select conname, pg_get_constraintdef(oid), pg_get_constraintdef(oid, true) from pg_constraint where conrelid = 'ck'::regclass order by 1",
  "select a.attname, pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum where d.adrelid = 't'::regclass",
  "select nspname, pg_get_userbyid(nspowner), nspacl, obj_description(oid, 'pg_namespace'), obj_description(oid) from pg_namespace order by 1",
  "select schemaname, tablename, hasindexes from pg_tables where schemaname = 'public' order by 2",
  "select indexname, indexdef from pg_indexes where tablename = 't' order by 1",
  "select table_catalog, table_schema, table_name, table_type, is_insertable_into from information_schema.tables where table_schema = 'public' order by 3",
  "select column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length, numeric_precision, numeric_precision_radix, numeric_scale, udt_name from information_schema.columns where table_name = 't' order by ordinal_position",
  "select schema_name from information_schema.schemata order by 1",
  "select typname, typlen, typbyval, typtype, typcategory, typelem::regtype, typarray::regtype, typinput, typoutput from pg_type where oid in (16, 20, 23, 25, 1043, 1700, 1007) order by oid",
  "select amname from pg_am where oid in (2, 403) order by 1",
  // correlated subqueries over the catalog
  "select c.relname, (select count(*) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0) from pg_class c where c.relname in ('t', 'u') order by 1",
  "select c.relname from pg_class c where exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary) and c.relnamespace = 2200",
  // pgbench's partition probe (LATERAL, left joins to empty catalogs, grouping)
  "select o.n, p.partstrat, pg_catalog.count(i.inhparent) from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on (n.oid = c.relnamespace) cross join lateral (select pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname)) as o(n) left join pg_catalog.pg_partitioned_table as p on (p.partrelid = c.oid) left join pg_catalog.pg_inherits as i on (c.oid = i.inhparent) where c.relname = 't' and o.n is not null group by 1, 2 order by 1 asc limit 1",
  // postgres.js's startup type query
  "select b.oid, b.typarray from pg_catalog.pg_type a left join pg_catalog.pg_type b on b.oid = a.typelem where a.typcategory = 'A' and b.oid in (16, 20, 21, 23, 25, 700, 701, 1043, 1082, 1114, 1184, 1700) group by b.oid, b.typarray order by b.oid",
  // session functions
  "select current_user, session_user, current_database(), current_schema(), current_schemas(true), current_setting('DateStyle'), pg_is_in_recovery()",
  "select pg_table_is_visible('information_schema.tables'::regclass), pg_table_is_visible('pg_class'::regclass), pg_table_is_visible(0)",
  "select pg_table_is_visible('t'::regclass), has_table_privilege('t', 'select'), has_schema_privilege('public', 'usage')",
  "select current_setting('no_such_setting')",
  "select current_schema, current_catalog, current_role, user",
  "select name, setting from pg_settings where name in ('DateStyle', 'IntervalStyle', 'server_encoding', 'standard_conforming_strings') order by 1",
];

/** A connected client; retries (at most 5 s) while a fresh PostgreSQL still starts up (57P03). */
async function connect(port: number): Promise<pg.Client> {
  for (let attempt = 0;; attempt++) {
    const client = new pg.Client({
      host: "127.0.0.1",
      port,
      user: "postgres",
      database: "postgres",
      types: { getTypeParser: () => (value: string) => value },
    });
    try {
      await client.connect();
      return client;
    } catch (error) {
      if ((error as { code?: string }).code !== "57P03" || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function rowsOf(port: number): Promise<Map<string, string>> {
  const client = await connect(port);
  const out = new Map<string, string>();
  try {
    for (const statement of schema) await client.query(statement);
    for (const query of queries) {
      try {
        const result = await client.query({ text: query, rowMode: "array" });
        out.set(query, JSON.stringify(result.rows));
      } catch (error) {
        const { code, message } = error as { code?: string; message?: string };
        out.set(query, `ERROR ${code} ${message}`);
      }
    }
  } finally {
    await client.end();
  }
  return out;
}

const binDir = findPgBinDir();

Deno.test({
  name: "catalog queries and functions give PostgreSQL 15's rows, SQLSTATEs and messages",
  ignore: binDir === undefined,
  async fn() {
    const cluster = await startPgCluster();
    let reference: Map<string, string>;
    try {
      reference = await rowsOf(cluster.port);
    } finally {
      await cluster.stop();
    }
    const dataDir = Deno.makeTempDirSync({ prefix: "exodb-catalog-" });
    const config = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "8MiB" }, {});
    assert.ok(config.ok);
    const appliance = await boot(config.config, new Logger("error", () => {}));
    try {
      const exodb = await rowsOf(appliance.listener.port);
      const differences = queries.filter((q) => exodb.get(q) !== reference.get(q)).map((q) =>
        `${q}\n  exodb:      ${exodb.get(q)}\n  postgresql: ${reference.get(q)}`
      );
      assert.deepEqual(differences, []);
    } finally {
      await appliance.shutdown();
      Deno.removeSync(dataDir, { recursive: true });
    }
  },
});
if (binDir === undefined) console.log(pgMissingMessage);

Deno.test("oid columns in binary results are 4-byte unsigned integers", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "exodb-catalog-" });
  const config = resolveConfig({ "data-dir": dataDir, port: "0", "pool-size": "8MiB" }, {});
  assert.ok(config.ok);
  const appliance = await boot(config.config, new Logger("error", () => {}));
  const client = new pg.Client({
    host: "127.0.0.1",
    port: appliance.listener.port,
    user: "postgres",
    database: "postgres",
  });
  try {
    await client.connect();
    const result = await client.query({
      text: "select oid, typarray from pg_type where typname = $1",
      values: ["int4"],
      binary: true,
    });
    // pg-types decodes binary oids (type 26) as unsigned 32-bit big-endian integers.
    assert.deepEqual(result.rows, [{ oid: 23, typarray: 1007 }]);
  } finally {
    await client.end();
    await appliance.shutdown();
    Deno.removeSync(dataDir, { recursive: true });
  }
});
