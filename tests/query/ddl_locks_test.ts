/**
 * Row writers against DDL that replaces a table's storage (dbengine/table_locks.ts): no
 * committed write is lost; a writer behind a committed DDL runs again on the new definition
 * (or, having written already, gets 40001); a DDL behind writers copies their committed rows;
 * a rolled-back DDL lets the writer through.
 */
import assert from "node:assert/strict";
import { sqlRunner, withAppliance } from "./_appliance.ts";
import { TableChangedError, TableLocks } from "../../dbengine/table_locks.ts";
import { TransactionManager } from "../../dbengine/txn.ts";

/** Settles to "pending" while `promise` has not settled after a few turns of the event loop. */
async function stateOf(promise: Promise<unknown>): Promise<"pending" | "settled"> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  return settled ? "settled" : "pending";
}

async function count(run: (sql: string) => Promise<{ rows?: unknown[][] }[]>): Promise<number> {
  return Number((await run("select count(*) from t"))[0]!.rows![0]![0]);
}

Deno.test("an INSERT behind an uncommitted ADD PRIMARY KEY waits, then runs on the new table; nothing committed is lost", async () => {
  await withAppliance(async (appliance) => {
    const ddl = sqlRunner(appliance);
    const writer = sqlRunner(appliance);
    await ddl.run("create table t (id int, v int); insert into t values (1, 1), (2, 2)");
    await ddl.run("begin; alter table t add primary key (id)");
    const insert = writer.run("insert into t values (3, 3)");
    assert.equal(await stateOf(insert), "pending", "the insert waits for the DDL");
    await ddl.run("commit");
    await insert; // ran again on the new definition: it had written nothing before the wait
    assert.equal(await count(ddl.run), 3);
    await assert.rejects(
      writer.run("insert into t values (3, 4)"),
      (e: { sqlState?: string }) => e.sqlState === "23505",
    );
  });
});

Deno.test("a writer that waited for DDL which then committed gets 40001; one that rolled back passes", async () => {
  const txns = new TransactionManager(
    {
      commit: () => Promise.resolve(),
      abort: () => {},
      run: (_txn, body) => body(),
    },
    1,
    [],
  );
  const locks = new TableLocks(txns);
  const ddl = txns.begin();
  ddl.undo.push(() => {}); // a writing transaction: its commit goes through the log
  assert.equal(await locks.exclusive(ddl, 7), false, "nobody to wait for");
  const writer = txns.begin();
  assert.equal(locks.mayWrite(writer, 7), false);
  const blocked = locks.write(writer, 7, "t");
  assert.equal(await stateOf(blocked), "pending");
  await txns.commit(ddl);
  await assert.rejects(blocked, (e) => e instanceof TableChangedError && e.sqlState === "40001");
  const second = txns.begin();
  second.undo.push(() => {});
  await locks.exclusive(second, 7);
  const passes = locks.write(writer, 7, "t");
  txns.rollback(second);
  await passes;
  assert.equal(locks.mayWrite(writer, 7), true, "the write lock is held to the end");
  // DDL waits for that open writer, and says it waited.
  const third = txns.begin();
  const exclusive = locks.exclusive(third, 7);
  assert.equal(await stateOf(exclusive), "pending");
  txns.rollback(writer);
  assert.equal(await exclusive, true);
});

Deno.test("ADD PRIMARY KEY behind an open writer waits for it and copies its committed rows", async () => {
  await withAppliance(async (appliance) => {
    const ddl = sqlRunner(appliance);
    const writer = sqlRunner(appliance);
    await ddl.run("create table t (id int, v int); insert into t values (1, 1)");
    await writer.run("begin; insert into t values (2, 2)");
    const alter = ddl.run("alter table t add primary key (id)");
    assert.equal(await stateOf(alter), "pending", "the DDL waits for the writer");
    await writer.run("insert into t values (3, 3)"); // the writer holds its lock: no deadlock
    await writer.run("commit");
    await alter;
    assert.equal(await count(ddl.run), 3, "the writer's committed rows are in the new table");
    const plan = await ddl.run("explain select * from t where id = 2");
    assert.match(JSON.stringify(plan[0]!.rows), /Index Scan using t_pkey/);
  });
});

Deno.test("a rolled-back TRUNCATE lets the waiting writer through; DROP TABLE waits for writers", async () => {
  await withAppliance(async (appliance) => {
    const ddl = sqlRunner(appliance);
    const writer = sqlRunner(appliance);
    await ddl.run("create table t (id int primary key, v int); insert into t values (1, 1)");
    await ddl.run("begin; truncate t");
    const insert = writer.run("insert into t values (2, 2)");
    assert.equal(await stateOf(insert), "pending");
    await ddl.run("rollback");
    await insert;
    assert.equal(await count(ddl.run), 2);
    await writer.run("begin; update t set v = 5 where id = 1");
    const drop = ddl.run("drop table t");
    assert.equal(await stateOf(drop), "pending", "DROP TABLE waits for the open writer");
    await writer.run("commit");
    await drop;
    await assert.rejects(
      ddl.run("select * from t"),
      (e: { sqlState?: string }) => e.sqlState === "42P01",
    );
  });
});

Deno.test("an ALTER behind another ALTER of the same table waits, then works on the new definition", async () => {
  await withAppliance(async (appliance) => {
    const first = sqlRunner(appliance);
    const second = sqlRunner(appliance);
    await first.run("create table t (id int primary key); insert into t values (1)");
    await first.run("begin; alter table t add column a int default 1");
    const alter = second.run("alter table t add column b int default 2");
    assert.equal(await stateOf(alter), "pending", "the second ALTER waits for the first");
    await first.run("commit");
    await alter;
    const rows = await first.run("select id, a, b from t");
    assert.deepEqual(rows[0]!.rows, [[1, 1, 2]]);
  });
});
