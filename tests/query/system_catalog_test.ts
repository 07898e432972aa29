/** System relations in-process: snapshot visibility, read-only, sizes, settings, the open provider. */
import assert from "node:assert/strict";
import { t } from "../../query/sql_types.ts";
import { defineSystemRelation } from "../../query/system_catalog.ts";
import { sqlRunner, withAppliance } from "./_appliance.ts";

type Runner = ReturnType<typeof sqlRunner>;

async function values(runner: Runner, sql: string): Promise<unknown[][]> {
  const results = await runner.run(sql);
  return results[results.length - 1]!.rows!;
}

async function sqlState(runner: Runner, sql: string): Promise<string | undefined> {
  try {
    await runner.run(sql);
    return undefined;
  } catch (error) {
    return (error as { sqlState?: string }).sqlState;
  }
}

const classQuery = "select relname, relkind from pg_class where relnamespace = 2200 order by 1";

Deno.test("pg_class follows each statement's snapshot: uncommitted DDL is private, rollback undoes it", async () => {
  await withAppliance(async (appliance) => {
    const a = sqlRunner(appliance);
    const b = sqlRunner(appliance);
    await a.run("begin; create table w (k int primary key)");
    assert.deepEqual(await values(a, classQuery), [["w", "r"], ["w_pkey", "i"]]);
    assert.deepEqual(await values(b, classQuery), []);
    await a.run("commit");
    assert.deepEqual(await values(b, classQuery), [["w", "r"], ["w_pkey", "i"]]);
    await a.run("begin; drop table w");
    assert.deepEqual(await values(a, classQuery), []);
    assert.deepEqual(await values(b, classQuery), [["w", "r"], ["w_pkey", "i"]]);
    await a.run("rollback");
    assert.deepEqual(await values(a, classQuery), [["w", "r"], ["w_pkey", "i"]]);
    // Columns added later appear in pg_attribute with their attnum; dropped ones stay, flagged.
    await a.run("alter table w add column note text; alter table w drop column note");
    assert.deepEqual(
      await values(
        a,
        "select attnum, attisdropped from pg_attribute where attrelid = 'w'::regclass and attnum > 0 order by 1",
      ),
      [[1, false], [2, true]],
    );
  });
});

Deno.test("system relations are read-only; unqualified names resolve in pg_catalog first", async () => {
  await withAppliance(async (appliance) => {
    const runner = sqlRunner(appliance);
    assert.equal(await sqlState(runner, "delete from pg_class"), "42501");
    assert.equal(await sqlState(runner, "insert into pg_tables values ('x')"), "42501");
    assert.equal(await sqlState(runner, "update pg_namespace set nspname = 'x'"), "42501");
    // information_schema is not on the search path.
    assert.equal(await sqlState(runner, "select * from tables"), "42P01");
    assert.equal(await sqlState(runner, "select * from pg_catalog.nosuch"), "42P01");
    assert.equal(await sqlState(runner, "select 'nosuch'::regclass"), "42P01");
    assert.equal(await sqlState(runner, "select 'a' ~ '[z'"), "2201B");
    assert.deepEqual(
      await values(
        runner,
        "select count(*) from information_schema.tables where table_name = 'pg_class'",
      ),
      [[1n]],
    );
  });
});

Deno.test("pg_relation_size counts the table's blocks; pg_settings and current_setting follow SET", async () => {
  await withAppliance(async (appliance) => {
    const runner = sqlRunner(appliance);
    await runner.run("create table big (id int primary key, pad text, unique (pad))");
    const empty = (await values(runner, "select pg_relation_size('big')"))[0]![0];
    assert.equal(empty, 8192n);
    await runner.run(
      "insert into big select g, repeat('x', 200) || g from generate_series(1, 2000) as g",
    );
    const [table, total, indexes] = (await values(
      runner,
      "select pg_relation_size('big'), pg_total_relation_size('big'), pg_indexes_size('big')",
    ))[0] as bigint[];
    // 2000 rows of ~210 bytes cannot fit in fewer than 2000 * 210 / 8192 blocks.
    assert.ok(table! >= 52n * 8192n, `table ${table}`);
    assert.equal(table! % 8192n, 0n);
    assert.equal(total, table! + indexes!);
    assert.ok(indexes! > 8192n);
    const database = (await values(runner, "select pg_database_size(current_database())"))[0]![0];
    assert.equal(database, total);
    assert.deepEqual(await values(runner, "select reltuples from pg_class where relname = 'big'"), [
      [-1],
    ]);
    await runner.run("analyze big");
    assert.deepEqual(
      await values(runner, "select reltuples from pg_class where relname = 'big'"),
      [[2000]],
    );
    await runner.run("set application_name = 'catalog-test'");
    assert.deepEqual(
      await values(
        runner,
        "select setting, current_setting('application_name') from pg_settings where name = 'application_name'",
      ),
      [["catalog-test", "catalog-test"]],
    );
    assert.deepEqual(
      await values(runner, "select setting from pg_settings where name = 'TimeZone'"),
      [["UTC"]],
    );
  });
});

Deno.test("the provider is open: a relation defined with one entry is queryable and joins", async () => {
  defineSystemRelation({
    schema: "pg_catalog",
    name: "exodb_test_tables",
    oid: 90001,
    kind: "v",
    columns: [["relname", t.name], ["ncols", t.int4]],
    rows: (_view, model) =>
      model.relations.filter((r) => r.kind === "r" && r.table !== undefined).map((r) => ({
        relname: r.name,
        ncols: r.table!.columns.length,
      })),
  });
  await withAppliance(async (appliance) => {
    const runner = sqlRunner(appliance);
    await runner.run("create table p (a int, b int, c int)");
    assert.deepEqual(
      await values(
        runner,
        "select e.relname, e.ncols, c.relkind from exodb_test_tables e join pg_class c on c.relname = e.relname",
      ),
      [["p", 3, "r"]],
    );
  });
});
