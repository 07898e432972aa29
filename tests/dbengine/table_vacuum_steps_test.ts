/**
 * A table's vacuum pass in steps (table.ts startVacuum): secondary index entries are removed
 * only when no row version present needs them, however statements interleave with the steps,
 * and a definition changed between steps does not break the pass.
 */
import assert from "node:assert/strict";
import type { Appliance } from "../../kernel/boot.ts";
import type { Table } from "../../dbengine/table.ts";
import { sqlRunner, withAppliance } from "../query/_appliance.ts";

function handle(appliance: Appliance, name: string): Table {
  const { catalog, storage } = appliance.engine;
  const snapshot = storage.txns.snapshot();
  try {
    return catalog.table(name, undefined, snapshot)!;
  } finally {
    storage.txns.release(snapshot);
  }
}

/** Rows (id and g) through index `t_g` at `snapshot`, in index order. */
function throughIndex(table: Table, snapshot: number): string[] {
  return table.indexScan("t_g", undefined, snapshot).map((r) => `${r.values[0]}:${r.values[1]}`);
}

/** The same rows from the primary key scan, in index order (g, then id). */
function throughRows(table: Table, snapshot: number): string[] {
  return table.scan(undefined, snapshot, { limit: 1_000_000 })
    .map((r) => ({ id: r.values[0] as number, g: r.values[1] as number }))
    .sort((a, b) => a.g - b.g || a.id - b.id)
    .map((r) => `${r.id}:${r.g}`);
}

/** Raw entries in the index tree (stale ones included). */
function indexEntries(table: Table): number {
  return table.trees()[1]!.batch({ limit: 1_000_000 }).length;
}

Deno.test("index entries survive while any version needs them, across steps", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const { storage } = appliance.engine;
    await run("CREATE TABLE t (id int PRIMARY KEY, g int, v text)");
    await run("CREATE INDEX t_g ON t (g)");
    await run("INSERT INTO t SELECT i, i % 10, 'x' FROM generate_series(1, 200) i");
    await run("UPDATE t SET g = g + 100"); // every row's old index entry is stale from now on
    const table = handle(appliance, "t");
    assert.equal(indexEntries(table), 400);
    const held: { snapshot: number; rows: string[] }[] = [];
    const pass = table.startVacuum(0);
    const removed = { versions: 0, indexEntries: 0 };
    let steps = 0;
    for (;; steps++) {
      const step = pass.step(5);
      removed.versions += step.versions;
      removed.indexEntries += step.indexEntries;
      if (step.done) break;
      // Between steps: move some rows back to their old index key (its entry is needed again),
      // delete some, and take snapshots that must keep reading the same rows through the index.
      const id = 1 + ((steps * 37) % 200);
      if (steps % 4 === 0) await run(`UPDATE t SET g = g - 100 WHERE id = ${id} AND g >= 100`);
      if (steps % 11 === 0) await run(`DELETE FROM t WHERE id = ${id}`);
      if (steps % 7 === 0) {
        const snapshot = storage.txns.snapshot();
        held.push({ snapshot, rows: throughIndex(table, snapshot) });
      }
      if (steps % 3 === 0) {
        const now = storage.txns.snapshot();
        assert.deepEqual(throughIndex(table, now), throughRows(table, now), `after step ${steps}`);
        storage.txns.release(now);
      }
      // Each held snapshot is checked a few times after it was taken.
      for (const [i, h] of held.entries()) {
        if ((steps + i) % 8 === 0) assert.deepEqual(throughIndex(table, h.snapshot), h.rows);
      }
    }
    assert.ok(steps > 60, `the pass ran in ${steps} steps`);
    assert.ok(removed.versions > 150 && removed.indexEntries > 150, JSON.stringify(removed));
    for (const h of held) assert.deepEqual(throughIndex(table, h.snapshot), h.rows);
    for (const h of held) storage.txns.release(h.snapshot);
    // With no reader left, one more pass leaves exactly one entry per live row.
    table.vacuum(0);
    const now = storage.txns.snapshot();
    const live = throughRows(table, now);
    assert.deepEqual(throughIndex(table, now), live);
    storage.txns.release(now);
    assert.equal(indexEntries(table), live.length);
  });
});

Deno.test("a column added between steps: the pass goes on and keeps what it cannot decode", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    const { storage } = appliance.engine;
    await run("CREATE TABLE t (id int PRIMARY KEY, g int)");
    await run("CREATE INDEX t_g ON t (g)");
    await run("INSERT INTO t SELECT i, i FROM generate_series(1, 200) i");
    await run("UPDATE t SET g = g + 1000");
    const old = handle(appliance, "t");
    const pass = old.startVacuum(0);
    for (let i = 0; i < 10; i++) assert.equal(pass.step(10).done, false);
    // Rows written now have three columns; the pass's handle knows two.
    await run("ALTER TABLE t ADD COLUMN w int DEFAULT 7");
    await run("UPDATE t SET w = 1, g = g - 1000 WHERE id <= 150");
    let steps = 0;
    while (!pass.step(10).done) steps++;
    assert.ok(steps > 10, `${steps} more steps`);
    const table = handle(appliance, "t");
    const now = storage.txns.snapshot();
    assert.deepEqual(throughIndex(table, now), throughRows(table, now));
    storage.txns.release(now);
    // The new handle's pass decodes the new rows and removes what is stale now.
    table.vacuum(0);
    const later = storage.txns.snapshot();
    assert.deepEqual(throughIndex(table, later), throughRows(table, later));
    storage.txns.release(later);
    assert.equal(indexEntries(table), 200);
    const [sum] = await run("SELECT sum(w) FROM t");
    assert.equal(String(sum!.rows![0]![0]), String(150 + 50 * 7));
  });
});

Deno.test("an index walk stopped part-way is done by the next pass, even with nothing noted", async () => {
  await withAppliance(async (appliance) => {
    const { run } = sqlRunner(appliance);
    await run("CREATE TABLE t (id int PRIMARY KEY, g int)");
    await run("CREATE INDEX t_g ON t (g)");
    await run("INSERT INTO t SELECT i, i FROM generate_series(1, 100) i");
    await run("UPDATE t SET g = -g");
    const table = handle(appliance, "t");
    table.vacuum(0); // the whole-tree walk of the freshly booted store, and the stale entries
    await run("UPDATE t SET g = -g"); // 100 stale entries again
    const pass = table.startVacuum(0);
    assert.equal(pass.step(100).versions, 100, "the row versions, in one step");
    assert.equal(pass.step(20).indexEntries, 20, "the first 20 index entries (g < 0): stale");
    assert.equal(table.rows.needsVacuum(), false, "no row work left");
    assert.deepEqual(table.vacuum(0), { versions: 0, indexEntries: 80 }, "the walk is still owed");
    assert.deepEqual(table.vacuum(0), { versions: 0, indexEntries: 0 });
    assert.equal(indexEntries(table), 100);
  });
});
