/**
 * Vacuum visits only keys that got a second version (mvcc.ts rule 5): a whole-tree pass first
 * after the store opens, then noted keys only; garbage a snapshot still sees stays noted.
 */
import assert from "node:assert/strict";
import { VersionedTree } from "../../dbengine/mvcc.ts";
import type { Storage } from "../../dbengine/storage.ts";
import type { Transaction } from "../../dbengine/txn.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";
import { k, treeFor } from "./_versioned_tree.ts";

const enc = new TextEncoder();

async function write(tree: VersionedTree, txn: Transaction, key: string, value: string | null) {
  txn.cid++;
  await tree.write(txn, k(key), "upsert", () => (value === null ? null : enc.encode(value)));
}

async function commitAll(storage: Storage, tree: VersionedTree, rows: [string, string | null][]) {
  const txn = storage.txns.begin();
  for (const [key, value] of rows) await write(tree, txn, key, value);
  await storage.txns.commit(txn);
}

/** Raw versions in the tree (every writer, tombstones included). */
const versionCount = (tree: VersionedTree) => tree.tree.batch({ limit: 100_000 }).length;

Deno.test("inserts leave nothing to vacuum; updates and deletes note their keys", async () => {
  const { storage } = await boot(newMedia(), 1, 64);
  const tree = treeFor(storage);
  await commitAll(storage, tree, Array.from({ length: 200 }, (_, i) => [`k${i}`, "v"]));
  assert.equal(tree.vacuum(0), 0, "new keys have one version each");
  assert.equal(tree.needsVacuum(), false, "a pass over inserted rows notes nothing");
  await commitAll(storage, tree, [["k1", "w"], ["k2", null], ["k300", "new"]]);
  assert.equal(tree.needsVacuum(), true, "an update and a delete note their keys");
  const handle = treeFor(storage);
  assert.equal(handle.needsVacuum(), true, "every handle on the tree shares the notes");
  assert.equal(versionCount(tree), 203);
  assert.equal(handle.vacuum(0), 3, "k1's old version, k2's row and its tombstone");
  assert.equal(versionCount(tree), 200);
  assert.equal(tree.needsVacuum(), false);
});

Deno.test("garbage a snapshot still sees stays noted until a later pass can remove it", async () => {
  const { storage } = await boot(newMedia(), 1, 64);
  const tree = treeFor(storage);
  await commitAll(storage, tree, [["a", "1"], ["b", "1"]]);
  tree.vacuum(0); // the whole-tree pass after opening
  const old = storage.txns.snapshot(); // a statement still running from before the update
  await commitAll(storage, tree, [["a", "2"]]);
  await commitAll(storage, tree, [["b", null]]);
  assert.equal(tree.vacuum(0), 0, "the old snapshot still sees a's first version and b's row");
  assert.equal(tree.needsVacuum(), true, "so both keys stay noted");
  storage.txns.release(old);
  // The commits after the snapshot are older than every snapshot now: all of it is garbage.
  assert.equal(tree.vacuum(0), 3);
  assert.equal(versionCount(tree), 1);
  assert.equal(tree.needsVacuum(), false);
});

Deno.test("after a crash the first pass walks the whole tree and removes loser versions", async () => {
  const machine = await boot(newMedia(), 1, 64);
  const tree = treeFor(machine.storage);
  await commitAll(machine.storage, tree, [["kept", "yes"]]);
  tree.vacuum(0);
  const loser = machine.storage.txns.begin();
  await write(tree, loser, "phantom", "boo"); // a new key: nothing noted for it
  await machine.storage.checkpoint(); // the loser's version reaches the image
  const rebooted = await boot(powerLoss(machine), 9, 64);
  const tree2 = treeFor(rebooted.storage);
  assert.equal(versionCount(tree2), 2, "the loser's version is on disk");
  assert.equal(tree2.needsVacuum(), true);
  assert.equal(tree2.vacuum(0), 1, "the whole-tree pass finds the loser's version");
  assert.equal(versionCount(tree2), 1);
});

Deno.test("a tree created since the store opened needs no whole-tree pass", async () => {
  const { storage } = await boot(newMedia(), 1, 64);
  const log = {
    commit: (t: number) => storage.commit(t),
    abort: () => {},
    run: <T>(t: number, body: () => T) => storage.store.run(t, body),
  };
  const created = storage.createTree();
  const tree = new VersionedTree(created, storage.txns, log, "n_pkey");
  assert.equal(tree.needsVacuum(), false);
  await commitAll(storage, tree, [["a", "1"]]);
  assert.equal(tree.needsVacuum(), false, "a first version leaves nothing behind");
  await commitAll(storage, tree, [["a", "2"]]);
  assert.equal(tree.needsVacuum(), true);
  assert.equal(tree.vacuum(0), 1);
});
