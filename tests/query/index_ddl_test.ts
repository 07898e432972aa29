/** CREATE/DROP INDEX: default names, IF [NOT] EXISTS, uniqueness, rollback, and lookups through indexes. */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "./_appliance.ts";

Deno.test("indexes are built from existing rows, maintained by writes and used for lookups", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const one = async (sql: string) => (await run(sql)).at(-1)!;
    await run(
      "create table t (id int primary key, name text, k int); " +
        "insert into t select g, 'n' || (g % 10)::text, g % 7 from generate_series(1, 2000) g",
    );
    assert.equal((await one("create index on t (name)")).tag, "CREATE INDEX");
    await run("create index on t (name)"); // a second default name: t_name_idx1
    const skipped = await one("create index if not exists t_name_idx on t (k)");
    assert.deepEqual(skipped.notices, [{
      code: "42P07",
      message: 'relation "t_name_idx" already exists, skipping',
    }]);
    await assert.rejects(run("create index t on t (k)"), { sqlState: "42P07" });
    await assert.rejects(run("create index on t (nope)"), { sqlState: "42703" });
    assert.deepEqual((await one("select count(*) from t where name = 'n3'")).rows, [[200n]]);
    assert.deepEqual((await one("select count(*) from t where name = 'n3' and k = 2")).rows, [[
      29n,
    ]]);
    // Primary-key ranges, either side of the operator.
    assert.deepEqual((await one("select count(*) from t where id > 1990")).rows, [[10n]]);
    assert.deepEqual((await one("select count(*) from t where id >= 10 and id < 20")).rows, [[
      10n,
    ]]);
    assert.deepEqual((await one("select count(*) from t where 1995 < id")).rows, [[5n]]);
    // Writes after the build keep the index right.
    await run("insert into t values (5001, 'n3', 1)");
    assert.deepEqual((await one("select id from t where name = 'n3' and id > 4000")).rows, [[
      5001,
    ]]);
    await run("update t set name = 'zz' where id = 5001");
    assert.deepEqual((await one("select id from t where name = 'n3' and id > 4000")).rows, []);
    assert.deepEqual((await one("select id from t where name = 'zz'")).rows, [[5001]]);
    await run("delete from t where id = 5001");
    assert.deepEqual((await one("select id from t where name = 'zz'")).rows, []);

    await assert.rejects(run("create unique index t_k_u on t (k)"), {
      sqlState: "23505",
      message: 'could not create unique index "t_k_u"',
    });
    await run("create unique index t_id_k on t (id, k)");
    await assert.rejects(run("insert into t values (1, 'x', 1)"), { sqlState: "23505" });

    assert.equal((await one("drop index t_name_idx, t_name_idx1")).tag, "DROP INDEX");
    await assert.rejects(run("drop index t_name_idx"), { sqlState: "42704" });
    const gone = await one("drop index if exists t_name_idx");
    assert.equal(gone.notices?.[0]?.message, 'index "t_name_idx" does not exist, skipping');
    await assert.rejects(run("drop index t_pkey"), { sqlState: "2BP01" });
    assert.deepEqual((await one("select count(*) from t where name = 'n3'")).rows, [[200n]]);
  });
});

Deno.test("a rolled-back CREATE INDEX leaves nothing; a unique index refuses later duplicates", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("create table u (a int unique, b text)");
    await assert.rejects(run("drop index u_a_key"), { sqlState: "2BP01" });
    await assert.rejects(run("drop index u"), { sqlState: "42809" });
    await run("begin; create index u_b on u (b); insert into u values (1, 'q'); rollback");
    await assert.rejects(run("drop index u_b"), { sqlState: "42704" });
    await run("insert into u values (2, 'q')");
    assert.deepEqual((await run("select * from u where b = 'q'"))[0]!.rows, [[2, "q"]]);
    await run("create unique index on u (b)");
    await assert.rejects(run("insert into u values (3, 'q')"), {
      sqlState: "23505",
      message: 'duplicate key value violates unique constraint "u_b_idx"',
    });
    // Another session's write while the index is being built in an open transaction is indexed.
    const other = sqlRunner(appliance);
    await run("begin; create index u_a on u (a)");
    await other.run("insert into u values (4, 'r')");
    await run("commit");
    assert.deepEqual((await run("select b from u where a = 4"))[0]!.rows, [["r"]]);
  });
});
