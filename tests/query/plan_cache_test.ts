/** The plan cache: repeated statements reuse their plan until the catalog or time zone changes. */
import assert from "node:assert/strict";
import { parseSql } from "../../query/sql_parser.ts";
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
