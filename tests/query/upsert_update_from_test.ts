/**
 * INSERT … ON CONFLICT DO UPDATE (with `excluded`, WHERE, unique-index arbiters) and
 * UPDATE … FROM; expected values are PostgreSQL 15's for the same statements.
 */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "./_appliance.ts";

Deno.test("ON CONFLICT DO UPDATE and UPDATE … FROM give PostgreSQL's results and errors", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const one = async (sql: string) => (await run(sql)).at(-1)!;
    await run(
      "create table t (id int primary key, name text, n int default 0); insert into t values (1, 'a', 1), (2, 'b', 2)",
    );
    const updated = await one(
      "insert into t values (1, 'z', 5) on conflict (id) do update set name = excluded.name, n = t.n + excluded.n returning *",
    );
    assert.equal(updated.tag, "INSERT 0 1");
    assert.deepEqual(updated.rows, [[1, "z", 6]]);
    assert.deepEqual(
      (await one(
        "insert into t values (3, 'c', 1) on conflict (id) do update set name = excluded.name returning *",
      )).rows,
      [[3, "c", 1]],
    );
    await assert.rejects(
      run(
        "insert into t values (1, 'q', 1), (1, 'r', 1) on conflict (id) do update set name = excluded.name",
      ),
      { sqlState: "21000" },
    );
    const skipped = await one(
      "insert into t values (2, 'w', 0) on conflict (id) do update set name = excluded.name where t.n > 100 returning *",
    );
    assert.equal(skipped.tag, "INSERT 0 0");
    await assert.rejects(
      run("insert into t values (2, 'w', 0) on conflict do update set name = 'x'"),
      {
        sqlState: "42601",
      },
    );
    await assert.rejects(
      run("insert into t values (2, 'w', 0) on conflict (name) do update set name = 'x'"),
      {
        sqlState: "42P10",
      },
    );
    await run("create unique index t_name on t (name)");
    assert.deepEqual(
      (await one(
        "insert into t values (9, 'c', 7) on conflict (name) do update set n = excluded.n returning id, name, n",
      )).rows,
      [[3, "c", 7]],
    );
    // A conflict on another constraint than the arbiter is an error, as in PostgreSQL.
    await assert.rejects(
      run("insert into t values (9, 'c', 7) on conflict (id) do update set n = 1"),
      {
        sqlState: "23505",
      },
    );
    assert.equal(
      (await one("insert into t values (9, 'b', 7) on conflict (name) do nothing")).tag,
      "INSERT 0 0",
    );
    assert.deepEqual((await one("select * from t order by id")).rows, [[1, "z", 6], [2, "b", 2], [
      3,
      "c",
      7,
    ]]);

    await run(
      "create table s (id int primary key, t_id int, amount int); insert into s values (1, 1, 10), (2, 1, 20), (3, 3, 30)",
    );
    const fromUpdate = await one(
      "update t set n = t.n + s.amount from s where s.t_id = t.id and s.id <> 2 returning t.id, t.n",
    );
    assert.equal(fromUpdate.tag, "UPDATE 2");
    assert.deepEqual(fromUpdate.rows, [[1, 16], [3, 37]]);
    assert.equal(
      (await one("update t set n = s.amount from s where s.t_id = t.id and t.id = 99")).tag,
      "UPDATE 0",
    );
    assert.equal((await one("update t x set n = 0 from s where s.t_id = x.id")).tag, "UPDATE 2");
    assert.deepEqual((await one("select * from t order by id")).rows, [[1, "z", 0], [2, "b", 2], [
      3,
      "c",
      0,
    ]]);
    assert.deepEqual(
      (await one(
        "update t set name = s2.name from (select 3 as id, 'sub' as name) s2 where s2.id = t.id returning t.*",
      )).rows,
      [[3, "sub", 0]],
    );
  });
});
