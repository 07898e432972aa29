/** EXPLAIN [ANALYZE], ANALYZE statistics feeding estimates, and the plans the planner picks. */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "./_appliance.ts";

Deno.test("EXPLAIN shows index lookups, pushed-down filters and hash joins; ANALYZE feeds estimates", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const plan = async (sql: string) =>
      (await run(sql))[0]!.rows!.map((r) => r[0] as string).join("\n");
    await run(`
      create table a (id int primary key, g int, v text);
      insert into a select i, i % 100, 'v' || i::text from generate_series(1, 2000) i;
      create table b (id int primary key, a_id int, w int);
      insert into b select i, (i * 7) % 2000 + 1, i % 13 from generate_series(1, 2000) i;
      create index on b (a_id)`);
    assert.equal(
      await plan("explain select * from a where id = 5"),
      "Index Scan using a_pkey on a  (rows=1)\n  Index Cond: (id = 5)",
    );
    const join = "select count(*), sum(b.w) from a join b on b.a_id = a.id where a.g = 5";
    const whole = "select count(*) from a join b on b.a_id = a.id";
    // Before ANALYZE a table is assumed to hold 1000 rows.
    assert.match(await plan(`explain ${whole}`), /Hash {2}\(rows=1000\)/);
    assert.equal((await run("analyze"))[0]!.tag, "ANALYZE");
    assert.equal(
      await plan(`explain ${whole}`),
      [
        "Aggregate  (rows=1)",
        "  ->  Hash Join  (rows=2000)",
        "        Hash Cond: (id = a_id)",
        "        ->  Seq Scan on a  (rows=2000)",
        "        ->  Hash  (rows=2000)",
        "              ->  Seq Scan on b  (rows=2000)",
      ].join("\n"),
    );
    // 20 rows of a: looking each up in b's index beats hashing all of b.
    assert.equal(
      await plan(`explain ${join}`),
      [
        "Aggregate  (rows=1)",
        "  ->  Nested Loop  (rows=20)",
        "        ->  Seq Scan on a  (rows=20)",
        "              Filter: (g = 5)",
        "        ->  Index Scan using b_a_id_idx on b  (rows=1)",
        "              Index Cond: (a_id = (outer 1).#1)",
        "              Filter: (a_id = (outer 1).#1)",
      ].join("\n"),
    );
    assert.deepEqual((await run(whole))[0]!.rows, [[2000n]]);
    assert.deepEqual((await run(join))[0]!.rows, [[20n, 121n]]);
    assert.match(
      await plan("explain (costs off) select * from b where a_id = 7"),
      /^Index Scan using b_a_id_idx on b\n {2}Index Cond: \(a_id = 7\)/,
    );
    assert.match(
      await plan("explain select * from a where id > 1990"),
      /Index Cond: \(id > 1990\)/,
    );
    const analyzed = await plan("explain analyze select g, count(*) from a where g < 3 group by g");
    assert.match(
      analyzed,
      /HashAggregate {2}\(rows=61\) \(actual time=[\d.]+\.\.[\d.]+ rows=3 loops=1\)/,
    );
    assert.match(analyzed, /Seq Scan on a .*rows=60 loops=1\)/);
    assert.match(analyzed, /Rows Removed by Filter: 1940/);
    assert.match(analyzed, /Execution Time: [\d.]+ ms/);
    const subplan = await plan(
      "explain (costs off) select * from a where exists (select 1 from b where b.a_id = a.id)",
    );
    assert.match(subplan, /SubPlan 1\n\s+-> {2}Index Scan using b_a_id_idx on b/);
    // ORDER BY the primary key reads the table in key order (backward for DESC): no sort.
    const ordered = await plan("explain (costs off) select * from a order by id desc limit 3");
    assert.equal(ordered, "Limit\n  ->  Index Scan Backward using a_pkey on a");
    assert.deepEqual((await run("select id from a order by id desc limit 3"))[0]!.rows, [[2000], [
      1999,
    ], [1998]]);
    assert.match(
      await plan("explain (costs off) select * from a order by g limit 3"),
      /Sort Key: g/,
    );
    await assert.rejects(run("explain insert into a values (0, 0, '')"), { sqlState: "0A000" });
  });
});
