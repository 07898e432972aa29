/** Correlated subqueries (outer references at any depth) and non-recursive WITH. */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "./_appliance.ts";

const schema = `
  create table t (id int primary key, name text);
  insert into t values (1, 'a'), (2, 'b'), (3, 'c');
  create table s (id int primary key, t_id int);
  insert into s values (1, 1), (2, 1), (3, 3)`;

Deno.test("correlated subqueries see the enclosing row, at any depth and inside FROM subqueries", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run(schema);
    const rows = async (sql: string) => (await run(sql))[0]!.rows;
    assert.deepEqual(
      await rows("select id, (select count(*) from s where s.t_id = t.id) from t order by id"),
      [[1, 2n], [2, 0n], [3, 1n]],
    );
    assert.deepEqual(
      await rows("select id from t where exists (select 1 from s where s.t_id = t.id) order by 1"),
      [[1], [3]],
    );
    assert.deepEqual(
      await rows("select id from t where not exists (select from s where s.t_id = t.id)"),
      [[2]],
    );
    // A FROM subquery inside a correlated subquery is evaluated again for each outer row.
    assert.deepEqual(
      await rows(
        "select id, (select max(x.id) from (select id from s where s.t_id = t.id) x) from t order by id",
      ),
      [[1, 2], [2, null], [3, 3]],
    );
    // Two levels out: t.id is referenced from the innermost query.
    assert.deepEqual(
      await rows(
        "select id, (select (select count(*) from s where s.t_id = t.id and s.id > u.id) from s u where u.id = 1) from t order by id",
      ),
      [[1, 1n], [2, 0n], [3, 1n]],
    );
    const [named] = await run("select (select name from t where id = 2)");
    assert.deepEqual(named!.columns!.map((c) => c.name), ["name"]);
  });
});

Deno.test("WITH: CTEs with column lists, chained, referenced twice, nested and in subqueries", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run(schema);
    const one = async (sql: string) => (await run(sql))[0]!;
    assert.deepEqual(
      (await one("with x as (select * from t where id > 1) select count(*) from x")).rows,
      [[2n]],
    );
    const chained = await one(
      "with x(a, b) as (select * from t where id > 1), y as (select a from x where a > 2) select * from x join y on x.a = y.a",
    );
    assert.deepEqual(chained.columns!.map((c) => c.name), ["a", "b", "a"]);
    assert.deepEqual(chained.rows, [[3, "c", 3]]);
    assert.deepEqual(
      (await one("with x as (select 1 as v) select (select v from x) + v from x")).rows,
      [[2]],
    );
    assert.deepEqual(
      (await one("select * from (with q as (select id from t) select * from q) z order by 1 desc"))
        .rows,
      [[3], [2], [1]],
    );
    assert.deepEqual(
      (await one(
        "select id, (with c as (select count(*) n from t u where u.id < t.id) select n from c) from t order by id",
      )).rows,
      [[1, 0n], [2, 1n], [3, 2n]],
    );
    await assert.rejects(run("with x as (select 1), x as (select 2) select * from x"), {
      sqlState: "42712",
    });
    await assert.rejects(run("with x(a, b) as (select 1) select * from x"), { sqlState: "42P10" });
  });
});
