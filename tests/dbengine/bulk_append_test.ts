/**
 * Bulk append in key order (dbengine/bulk_append.ts): rows are ordinary versions of their
 * transaction (visible on commit, gone on rollback), keys must ascend above the table's, and an
 * ascending load leaves full leaves behind (the rightmost split in btree.ts).
 */
import assert from "node:assert/strict";
import type { Appliance } from "../../kernel/boot.ts";
import { bulkAppendSorted } from "../../dbengine/bulk_append.ts";
import type { SqlValue } from "../../dbengine/types.ts";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";

async function append(appliance: Appliance, rows: SqlValue[][], commit = true) {
  const { storage, catalog } = appliance.engine;
  const txn = storage.txns.begin();
  txn.cid++;
  const snapshot = storage.txns.snapshot();
  const table = catalog.table("t", txn, snapshot)!;
  storage.txns.release(snapshot);
  try {
    bulkAppendSorted(table, txn, rows);
  } catch (error) {
    storage.txns.rollback(txn);
    throw error;
  }
  if (commit) await storage.txns.commit(txn);
  else storage.txns.rollback(txn);
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => [from + i, `row ${from + i}`]);

Deno.test("bulk-appended rows read back through SQL; a rollback removes them", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("create table t (id int primary key, v text not null)");
    await append(appliance, range(1, 5000));
    await append(appliance, range(5001, 6000), false);
    const [count] = await run("select count(*), min(id), max(id) from t");
    assert.deepEqual(count!.rows, [[5000n, 1, 5000]]);
    const [row] = await run("select v from t where id = 4321");
    assert.deepEqual(row!.rows, [["row 4321"]]);
    // SQL inserts and the bulk path mix: the key order rule is about the table's keys.
    await run("insert into t values (6000, 'sql')");
    await assert.rejects(() => append(appliance, [[5999, "late"]]), /must ascend/);
    await assert.rejects(() => append(appliance, [[7001, "a"], [7000, "b"]]), /must ascend/);
    await assert.rejects(() => append(appliance, [[7002, null]]), /null value/);
    await append(appliance, range(6001, 6100));
    const [after] = await run("select count(*) from t");
    assert.deepEqual(after!.rows, [[5101n]]);
  });
});

Deno.test("an ascending load fills leaves instead of leaving them half full", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("create table t (id int primary key, v text not null)");
    await append(appliance, range(1, 20000));
    const { storage, catalog } = appliance.engine;
    const snapshot = storage.txns.snapshot();
    const table = catalog.table("t", undefined, snapshot)!;
    storage.txns.release(snapshot);
    const shape = table.rows.tree.check();
    assert.equal(shape.entries, 20000);
    // Each cell is ~36 bytes (key, stamp, version header, row) plus a 2-byte slot: an 8 KiB
    // leaf holds ~200 of them; half-full leaves would need about twice as many.
    const perLeaf = shape.entries / shape.leaves;
    assert.ok(perLeaf > 150, `${perLeaf.toFixed(0)} entries per leaf`);
  });
});

Deno.test("bulk append refuses tables whose other structures it would not maintain", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("create table t (id int primary key, v text not null); create index t_v on t (v)");
    await assert.rejects(() => append(appliance, range(1, 10)), /no secondary index/);
  });
});
