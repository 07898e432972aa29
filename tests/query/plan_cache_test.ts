/** The plan cache: repeated statements reuse their plan until the catalog or time zone changes. */
import assert from "node:assert/strict";
import { parseSql } from "../../query/sql_parser.ts";
import { t } from "../../query/sql_types.ts";
import { sqlRunner, withAppliance } from "./_appliance.ts";

Deno.test("a repeated statement reuses its plan; DDL and a new time zone invalidate it", async () => {
  await withAppliance(async (appliance) => {
    const { session, run } = sqlRunner(appliance);
    await run(
      "create table items (id int primary key, name text); insert into items values (1, 'a')",
    );
    const [select] = parseSql("select * from items where id = 1");
    const first = await session.execute(select!.statement);
    assert.deepEqual(first.rows, [[1, "a"]]);
    const hitsBefore = session.planCacheHits;
    const second = await session.execute(select!.statement);
    assert.deepEqual(second.rows, [[1, "a"]]);
    assert.equal(session.planCacheHits, hitsBefore + 1);

    // A committed catalog change: the plan is rebuilt and sees the new column.
    await run("alter table items add column price int");
    const third = await session.execute(select!.statement);
    assert.equal(session.planCacheHits, hitsBefore + 1);
    assert.deepEqual(third.rows, [[1, "a", null]]);
    assert.deepEqual(third.columns!.map((c) => c.name), ["id", "name", "price"]);

    // Uncommitted catalog change in another session: nothing is cached meanwhile.
    const other = sqlRunner(appliance);
    await other.run("begin; create table hidden (x int)");
    await session.execute(select!.statement);
    await session.execute(select!.statement);
    assert.equal(session.planCacheHits, hitsBefore + 1);
    await other.run("rollback");

    // Literals bound under one time zone are not reused under another.
    const [stamp] = parseSql("select '2024-01-01 00:00:00+00'::timestamptz::text");
    await run("set timezone = 'UTC'");
    const utc = await session.execute(stamp!.statement);
    await run("set timezone = '+05:00'");
    const plus5 = await session.execute(stamp!.statement);
    assert.notDeepEqual(utc.rows, plus5.rows);
  });
});

Deno.test("a repeated UPDATE reuses its binding; a column dropped or retyped rebinds it", async () => {
  await withAppliance(async (appliance) => {
    const { session, run } = sqlRunner(appliance);
    await run(
      "create table acct (id int primary key, bal int, note text); insert into acct values (1, 0, 'x'), (2, 0, 'y')",
    );
    const [update] = parseSql("update acct set bal = bal + $1 where id = $2");
    const exec = (delta: number, id: number) =>
      session.execute(update!.statement, [delta, id], [t.int4, t.int4]);
    assert.equal((await exec(5, 1)).tag, "UPDATE 1");
    const hitsBefore = session.planCacheHits;
    assert.equal((await exec(7, 1)).tag, "UPDATE 1");
    assert.equal((await exec(1, 2)).tag, "UPDATE 1");
    assert.equal(session.planCacheHits, hitsBefore + 2, "the second and third runs reused it");
    const [sums] = parseSql("select id, bal from acct order by id");
    assert.deepEqual((await session.execute(sums!.statement)).rows, [[1, 12], [2, 1]]);

    // A column before the updated one goes away: the cached column positions would be wrong.
    await run("alter table acct drop column note");
    await run("alter table acct add column extra int default 9");
    assert.equal((await exec(100, 2)).tag, "UPDATE 1");
    assert.deepEqual(
      (await session.execute(parseSql("select * from acct order by id")[0]!.statement)).rows,
      [[1, 12, 9], [2, 101, 9]],
    );
    // The column itself is dropped: the next run fails as a fresh bind would (42703).
    await run("alter table acct drop column bal");
    await assert.rejects(
      () => exec(1, 1),
      (error: { sqlState?: string }) => error.sqlState === "42703",
    );
  });
});

Deno.test("a repeated INSERT … VALUES reuses its binding until the table changes", async () => {
  await withAppliance(async (appliance) => {
    const { session, run } = sqlRunner(appliance);
    await run("create table hist (a int, b text, c int default 7)");
    const [insert] = parseSql("insert into hist (b, a) values ($1, $2)");
    const exec = (b: string, a: number) =>
      session.execute(insert!.statement, [b, a], [t.text, t.int4]);
    await exec("x", 1);
    const hitsBefore = session.planCacheHits;
    await exec("y", 2);
    assert.equal(session.planCacheHits, hitsBefore + 1);
    // Columns move: a new first column shifts every position the binding holds.
    await run("alter table hist drop column c");
    await run("alter table hist add column d int default 5");
    await exec("z", 3);
    assert.equal(session.planCacheHits, hitsBefore + 1, "rebound after the catalog changed");
    const rows = await session.execute(parseSql("select * from hist order by a")[0]!.statement);
    assert.deepEqual(rows.rows, [[1, "x", 5], [2, "y", 5], [3, "z", 5]]);
  });
});
