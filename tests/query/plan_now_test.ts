/**
 * Plans run without awaiting (query/plan_now.ts): which plans qualify, and that they answer as
 * the awaiting executor does: NULL keys, LIMIT/OFFSET checks before the input runs, errors,
 * and a LIMIT over an index scan that must not touch rows past its first batch.
 */
import assert from "node:assert/strict";
import { Binder } from "../../query/binder.ts";
import { isPlanNow } from "../../query/plan_now.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { ExoError } from "../../lib/errors.ts";
import { t } from "../../query/sql_types.ts";
import { sqlRunner, withAppliance } from "./_appliance.ts";

const setup = `
  create table items (id int primary key, tag int, name text);
  create index items_tag on items (tag);
  insert into items select g, g % 2, 'n' || g from generate_series(1, 600) g;
`;

Deno.test("point lookups, equality index scans and VALUES qualify; ranges, joins, sorts do not", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run(setup);
    const { catalog, storage } = appliance.engine;
    const txn = storage.txns.begin();
    const planOf = (sql: string) => {
      const statement = parseSql(sql)[0]!.statement;
      assert.equal(statement.kind, "select");
      const binder = new Binder({
        catalog,
        txn,
        snapshot: storage.txns.snapshot(),
        paramTypes: [t.int4],
        settings: { timeZoneOffsetSeconds: 0 },
      });
      return binder.select(statement as never).plan;
    };
    for (
      const sql of [
        "select name from items where id = $1",
        "select id + 1, upper(name) from items where id = 7 and name <> 'x'",
        "select * from items where id = 3 limit 1 offset 0",
        "select * from items where tag = 1",
        "select 1, 'a'",
      ]
    ) assert.ok(isPlanNow(planOf(sql)), sql);
    for (
      const sql of [
        "select * from items where id > 5",
        "select * from items where tag = 1 limit 3", // an index scan may be many batches
        "select * from items a join items b on a.id = b.id where a.id = 1",
        "select * from items where id = 1 order by name",
        "select count(*) from items where id = 1",
        "select (select 1) from items where id = 1",
        "select * from generate_series(1, 3)",
      ]
    ) assert.ok(!isPlanNow(planOf(sql)), sql);
    storage.txns.rollback(txn);
  });
});

Deno.test("plans run without awaiting answer as the awaiting executor does", async () => {
  await withAppliance(async (appliance) => {
    const { session, run } = sqlRunner(appliance);
    await run(setup);
    const rows = async (sql: string, params: unknown[] = []) => {
      const statement = parseSql(sql)[0]!.statement;
      return (await session.execute(statement, params as never, params.map(() => t.int4))).rows;
    };
    assert.deepEqual(await rows("select name from items where id = $1", [7]), [["n7"]]);
    assert.deepEqual(await rows("select name from items where id = $1", [null]), []);
    assert.deepEqual(await rows("select name from items where id = 7 and tag = 0"), []);
    assert.deepEqual(await rows("select id * 2 from items where id = 7 limit 1 offset 1"), []);
    assert.equal((await rows("select id from items where tag = 1"))!.length, 300);
    // LIMIT 0 does not run its input (PostgreSQL neither): the division is never evaluated.
    assert.deepEqual(await rows("select 1 / (id - 7) from items where id = 7 limit 0"), []);
    const fails = (sql: string, code: string) =>
      assert.rejects(() => rows(sql), (e: unknown) => e instanceof ExoError && e.sqlState === code);
    await fails("select 1 / (id - 7) from items where id = 7", "22012");
    await fails("select * from items where id = 7 limit -1", "2201W");
    await fails("select * from items where id = 7 offset -1", "2201X");
    // Row 599 (tag 1) is in the index scan's second batch: under LIMIT 3 it is never projected.
    assert.deepEqual(
      await rows("select 600 / (id - 599) from items where tag = 1 limit 3"),
      [[-1], [-1], [-1]],
    );
  });
});
