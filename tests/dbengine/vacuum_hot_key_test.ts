/**
 * A hot row (pgbench's branches: tens of thousands of versions of one key between passes) is
 * vacuumed over several steps of at most `vacuumStepVersionsMax` removals (mvcc.ts rule 6), so
 * no step holds the kernel thread for long; between those steps the half-removed key reads
 * exactly as before, a dead tombstone never lets an older version through, and writes to the
 * key meanwhile are kept.
 */
import assert from "node:assert/strict";
import { vacuumStepVersionsMax, type VersionedTree } from "../../dbengine/mvcc.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";
import { k, treeFor } from "./_versioned_tree.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function rawCount(tree: VersionedTree): number {
  return tree.tree.batch({ limit: 1_000_000 }).length;
}

for (const mode of ["noted keys", "whole tree"] as const) {
  Deno.test(`${mode}: a key with 1,000 dead versions is removed over bounded steps, reads unchanged`, async () => {
    let machine = await boot(newMedia(2048), 11, 64);
    let storage = machine.storage;
    let tree = treeFor(storage);
    const put = async (key: string, value: string | null) => {
      const txn = storage.txns.begin();
      txn.cid++;
      await tree.write(txn, k(key), "upsert", () => (value === null ? null : enc.encode(value)));
      await storage.txns.commit(txn);
    };
    await put("a-cold", "c0");
    for (let i = 0; i < 1000; i++) await put("hot", `h${i}`);
    for (let i = 0; i < 600; i++) await put("gone", `g${i}`);
    await put("gone", null); // a tombstone on top of 600 versions
    await put("z-cold", "z0");
    if (mode === "whole tree") {
      // After a restart nothing is noted: the first pass walks the whole tree.
      await storage.checkpoint();
      machine = await boot(powerLoss(machine), 12, 64);
      storage = machine.storage;
      tree = treeFor(storage);
    }
    const read = () => {
      const snapshot = storage.txns.snapshot();
      const rows = tree.scan(undefined, snapshot, { limit: 1000 })
        .map((r) => `${dec.decode(r.key).replace(/\0/g, "")}=${dec.decode(r.row)}`);
      storage.txns.release(snapshot);
      return rows;
    };
    let expected = ["a-cold=c0", "hot=h999", "z-cold=z0"];
    assert.deepEqual(read(), expected);
    assert.equal(rawCount(tree), 1 + 1000 + 601 + 1);
    const pass = tree.startVacuum(0);
    let removed = 0;
    let steps = 0;
    for (;;) {
      const step = pass.step(32);
      steps++;
      removed += step.removed;
      assert.ok(step.removed <= vacuumStepVersionsMax, `step ${steps} removed ${step.removed}`);
      // Between steps the half-vacuumed keys read as before (the tombstone still hides "gone").
      assert.deepEqual(read(), expected, `after step ${steps}`);
      if (step.done) break;
      if (steps === 2) {
        await put("hot", "h-new"); // a write to the key being removed, between its steps
        expected = ["a-cold=c0", "hot=h-new", "z-cold=z0"];
      }
      assert.ok(steps < 100, "the pass ends");
    }
    assert.ok(steps >= Math.ceil(1600 / vacuumStepVersionsMax), `${steps} steps`);
    // h999 died when h-new committed: this pass removed it if it decided "hot" after that (the
    // whole-tree walk reaches "gone" first), else the next pass does. Dead in all: 1,601.
    const later = tree.vacuum(0);
    assert.equal(removed + later, 999 + 1 + 601, `${removed} + ${later}: every dead version`);
    assert.deepEqual(read(), expected);
    assert.equal(rawCount(tree), 3);
    assert.equal(tree.needsVacuum(), false);
  });
}
