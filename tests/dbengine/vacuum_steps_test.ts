/**
 * Vacuum in steps (mvcc.ts rule 6): a pass done a few keys at a time removes exactly what a
 * one-shot pass removes, and writes, deletes, rollbacks and new snapshots between the steps
 * never cost a visible version or lose a noted key.
 */
import assert from "node:assert/strict";
import type { VersionedTree } from "../../dbengine/mvcc.ts";
import type { Storage } from "../../dbengine/storage.ts";
import type { Transaction } from "../../dbengine/txn.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";
import { k, treeFor } from "./_versioned_tree.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every raw version in the tree as `hex(tree key)=hex(value)`, in tree order. */
function rawVersions(tree: VersionedTree): string[] {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return tree.tree.batch({ limit: 1_000_000 }).map((e) => `${hex(e.key)}=${hex(e.value)}`);
}

/** What `reader` at `snapshot` reads: every visible row as `key=value`. */
function visible(tree: VersionedTree, reader: Transaction | undefined, snapshot: number): string[] {
  return tree.scan(reader, snapshot, { limit: 1_000_000 })
    .map((r) => `${dec.decode(r.key)}=${dec.decode(r.row)}`);
}

/** One transaction of a generated history. */
interface TxnPlan {
  writes: { key: string; value: string | null }[];
  end: "commit" | "rollback" | "open";
  /** Take a snapshot before this transaction and hold it through the vacuum. */
  holdSnapshot: boolean;
}

function plan(
  rng: () => number,
  txns: number,
  keys: number,
  round: number,
  leaveOpen = true,
): TxnPlan[] {
  const out: TxnPlan[] = [];
  for (let t = 0; t < txns; t++) {
    const writes = Array.from({ length: 1 + Math.floor(rng() * 4) }, (_, w) => ({
      key: `k${Math.floor(rng() * keys)}`,
      value: rng() < 0.2 ? null : `r${round}t${t}w${w}`,
    }));
    const roll = rng();
    // Only the last transaction may stay open (through the vacuum): no later write waits on it.
    const end = leaveOpen && t === txns - 1 && roll < 0.7
      ? "open"
      : roll < 0.15
      ? "rollback"
      : "commit";
    out.push({ writes, end, holdSnapshot: rng() < 0.06 });
  }
  return out;
}

/** The state one history leaves running: held snapshots and open transactions. */
interface Held {
  snapshots: number[];
  open: Transaction[];
}

async function apply(storage: Storage, tree: VersionedTree, txns: TxnPlan[], held: Held) {
  for (const planned of txns) {
    if (planned.holdSnapshot) held.snapshots.push(storage.txns.snapshot());
    const txn = storage.txns.begin();
    for (const { key, value } of planned.writes) {
      txn.cid++;
      await tree.write(txn, k(key), "upsert", () => (value === null ? null : enc.encode(value)));
    }
    if (planned.end === "commit") await storage.txns.commit(txn);
    else if (planned.end === "rollback") storage.txns.rollback(txn);
    else held.open.push(txn);
  }
}

/** Runs a pass in steps of 1–4 keys chosen by `rng`; returns versions removed and steps taken. */
function vacuumInSteps(tree: VersionedTree, rng: () => number): { removed: number; steps: number } {
  const pass = tree.startVacuum(0);
  let removed = 0;
  for (let steps = 1;; steps++) {
    const step = pass.step(1 + Math.floor(rng() * 4));
    removed += step.removed;
    if (step.done) return { removed, steps };
    assert.ok(steps < 100_000, "a pass ends");
  }
}

/** What every held reader reads, to compare before and after a vacuum. */
function reads(tree: VersionedTree, storage: Storage, held: Held): string[][] {
  const now = storage.txns.snapshot();
  const out = [
    ...held.snapshots.map((s) => visible(tree, undefined, s)),
    ...held.open.map((txn) => visible(tree, txn, now)),
    visible(tree, undefined, now),
  ];
  storage.txns.release(now);
  return out;
}

for (const seed of [1, 2, 3, 4, 5]) {
  Deno.test(`seed ${seed}: a pass in small steps leaves exactly what a one-shot pass leaves`, async () => {
    // Two identical machines run the same history; one vacuums in one go, the other in steps.
    const machines = [await boot(newMedia(), 1, 64), await boot(newMedia(), 1, 64)];
    const trees = machines.map((m) => treeFor(m.storage));
    const helds: Held[] = machines.map(() => ({ snapshots: [], open: [] }));
    const stepRng = random(seed * 7919);
    let removedTotal = 0;
    let stepsTotal = 0;
    // Round 0 ends in a crash with a loser running; the first pass after boot walks the tree.
    const round0 = plan(random(seed), 40, 30, 0, false);
    for (const [i, m] of machines.entries()) {
      await apply(m.storage, trees[i]!, round0, helds[i]!);
      const loser = m.storage.txns.begin();
      loser.cid++;
      await trees[i]!.write(loser, k("k3"), "upsert", () => enc.encode("loser"));
      await m.storage.checkpoint();
    }
    for (let i = 0; i < machines.length; i++) {
      machines[i] = await boot(powerLoss(machines[i]!), 5, 64);
      trees[i] = treeFor(machines[i]!.storage);
      helds[i] = { snapshots: [], open: [] };
    }
    assert.deepEqual(rawVersions(trees[0]!), rawVersions(trees[1]!), "identical after the crash");
    for (let round = 1; round <= 4; round++) {
      const before = reads(trees[1]!, machines[1]!.storage, helds[1]!);
      const oneShot = trees[0]!.vacuum(0);
      const stepped = vacuumInSteps(trees[1]!, stepRng);
      assert.equal(stepped.removed, oneShot, `round ${round}: the same number removed`);
      assert.deepEqual(rawVersions(trees[1]!), rawVersions(trees[0]!), `round ${round}`);
      assert.deepEqual(reads(trees[1]!, machines[1]!.storage, helds[1]!), before, "reads kept");
      assert.equal(trees[1]!.needsVacuum(), trees[0]!.needsVacuum(), "the same keys stay noted");
      removedTotal += oneShot;
      stepsTotal += stepped.steps;
      // End what the last round left running, then write the next round (noted passes).
      const txns = plan(random(seed * 31 + round), 60, 30, round);
      for (const [i, m] of machines.entries()) {
        for (const s of helds[i]!.snapshots) m.storage.txns.release(s);
        for (const [j, txn] of helds[i]!.open.entries()) {
          if (j % 2 === 0) await m.storage.txns.commit(txn);
          else m.storage.txns.rollback(txn);
        }
        helds[i] = { snapshots: [], open: [] };
        if (round < 4) await apply(m.storage, trees[i]!, txns, helds[i]!);
      }
    }
    assert.ok(removedTotal > 50, `the histories left garbage to remove (${removedTotal})`);
    assert.ok(stepsTotal > 20, `the passes ran in many steps (${stepsTotal})`);
    // Nothing runs any more: one more pass leaves one live version per key and nothing noted.
    for (const tree of trees) tree.vacuum(0);
    for (const tree of trees) {
      const now = machines[0]!.storage.txns.snapshot();
      assert.equal(rawVersions(tree).length, visible(tree, undefined, now).length);
      machines[0]!.storage.txns.release(now);
      assert.equal(tree.needsVacuum(), false);
    }
    assert.deepEqual(rawVersions(trees[1]!), rawVersions(trees[0]!));
  });
}

/**
 * Runs a pass in steps of `stepKeys`, calling `between` after every step; returns the steps.
 */
async function interleaved(
  tree: VersionedTree,
  stepKeys: number,
  between: (step: number) => Promise<void>,
): Promise<number> {
  const pass = tree.startVacuum(0);
  for (let step = 1;; step++) {
    if (pass.step(stepKeys).done) return step;
    await between(step);
  }
}

for (const mode of ["noted keys", "whole tree"] as const) {
  Deno.test(`${mode}: writes and snapshots between steps cost no visible version and no note`, async () => {
    let machine = await boot(newMedia(), 3, 64);
    let storage = machine.storage;
    let tree = treeFor(storage);
    const keys = 300;
    const commit = async (rows: [string, string | null][]) => {
      const txn = storage.txns.begin();
      for (const [key, value] of rows) {
        txn.cid++;
        await tree.write(txn, k(key), "upsert", () => (value === null ? null : enc.encode(value)));
      }
      await storage.txns.commit(txn);
    };
    await commit(Array.from({ length: keys }, (_, i) => [`k${i}`, "v0"]));
    // Every key gets a second version: garbage everywhere once it is visible to all.
    for (let i = 0; i < keys; i += 50) {
      await commit(Array.from({ length: 50 }, (_, j) => [`k${i + j}`, "v1"]));
    }
    if (mode === "whole tree") {
      // After a restart nothing is noted: the first pass walks the whole tree.
      await storage.checkpoint();
      machine = await boot(powerLoss(machine), 7, 64);
      storage = machine.storage;
      tree = treeFor(storage);
    }
    const rng = random(mode.length);
    const held: { snapshot: number; rows: string[] }[] = [];
    const live = new Map<string, string>();
    for (let i = 0; i < keys; i++) live.set(`k${i}`, "v1");
    const running: Transaction[] = [];
    const steps = await interleaved(tree, 7, async (step) => {
      // Between steps: updates and deletes of keys on both sides of the pass's position, new
      // keys, a rollback, a transaction left running, and a snapshot taken and kept.
      const rows: [string, string | null][] = [];
      for (let n = 0; n < 4; n++) {
        const key = `k${Math.floor(rng() * (keys + 40))}`;
        const value = rng() < 0.25 ? null : `s${step}n${n}`;
        rows.push([key, value]);
      }
      await commit(rows);
      for (const [key, value] of rows) {
        if (value === null) live.delete(key);
        else live.set(key, value);
      }
      if (step % 5 === 0) {
        const txn = storage.txns.begin();
        txn.cid++;
        await tree.write(txn, k(`k${step}`), "upsert", () => enc.encode("rolled back"));
        storage.txns.rollback(txn);
      }
      if (step % 9 === 0 && running.length < 2) {
        const txn = storage.txns.begin();
        txn.cid++;
        await tree.write(txn, k(`k${keys + 100 + step}`), "upsert", () => enc.encode("running"));
        running.push(txn);
      }
      if (step % 3 === 0) {
        const snapshot = storage.txns.snapshot();
        held.push({ snapshot, rows: visible(tree, undefined, snapshot) });
      }
      // Every snapshot taken so far still reads what it read when it was taken.
      for (const h of held) assert.deepEqual(visible(tree, undefined, h.snapshot), h.rows);
    });
    assert.ok(steps > 20, `the pass ran in ${steps} steps`);
    assert.ok(held.length > 5, "snapshots were taken mid-pass");
    for (const h of held) assert.deepEqual(visible(tree, undefined, h.snapshot), h.rows);
    const now = storage.txns.snapshot();
    const expected = [...live].filter(([, v]) => v !== null)
      .map(([key, value]) => `${key}\0\0=${value}`).sort();
    assert.deepEqual(visible(tree, undefined, now).sort(), expected, "no committed write lost");
    storage.txns.release(now);
    // Once the readers and writers are gone, the next pass leaves no garbage and no notes:
    // keys dirtied during the pass were either vacuumed by it or are still noted.
    for (const h of held) storage.txns.release(h.snapshot);
    for (const txn of running) await storage.txns.commit(txn);
    tree.vacuum(0);
    assert.equal(tree.needsVacuum(), false);
    assert.equal(rawVersions(tree).length, live.size + running.length, "one version per live key");
  });
}

Deno.test("a whole-tree walk stopped part-way is resumed by the next pass", async () => {
  const machine = await boot(newMedia(), 4, 64);
  const written = treeFor(machine.storage);
  for (const value of ["a", "b"]) {
    const txn = machine.storage.txns.begin();
    for (let i = 0; i < 100; i++) {
      txn.cid++;
      const key = k(`k${String(i).padStart(3, "0")}`);
      await written.write(txn, key, "upsert", () => enc.encode(value));
    }
    await machine.storage.txns.commit(txn);
  }
  await machine.storage.checkpoint();
  const { storage } = await boot(powerLoss(machine), 8, 64); // nothing noted after a restart
  const tree = treeFor(storage);
  // The first pass after opening walks the whole tree; stop it after 30 of the 100 keys.
  const first = tree.startVacuum(0);
  let removed = 0;
  for (let i = 0; i < 3; i++) removed += first.step(10).removed;
  assert.equal(removed, 30, "one old version for each of 30 keys");
  assert.equal(tree.needsVacuum(), true, "the unfinished walk is still owed");
  const txn = storage.txns.begin();
  txn.cid++;
  await tree.write(txn, k("k005"), "upsert", () => enc.encode("c")); // behind the walk's cursor
  await storage.txns.commit(txn);
  // The next pass resumes the walk where it stopped (keys 30–99), then the notes get theirs.
  const second = tree.startVacuum(0);
  const step = second.step(1_000);
  assert.deepEqual(step, { removed: 70, keys: 70, done: true });
  assert.equal(tree.needsVacuum(), true, "k005, noted during the walk, stays noted");
  assert.equal(tree.vacuum(0), 1, "k005's older version");
  assert.equal(tree.needsVacuum(), false);
  assert.equal(rawVersions(tree).length, 100);
  assert.deepEqual(first.step(10), { removed: 0, keys: 0, done: true }, "the old pass is over");
});

Deno.test("a noted pass stopped part-way leaves its undecided keys noted", async () => {
  const { storage } = await boot(newMedia(), 6, 64);
  const tree = treeFor(storage);
  const commit = async (value: string) => {
    const txn = storage.txns.begin();
    for (let i = 0; i < 50; i++) {
      txn.cid++;
      await tree.write(txn, k(`k${i}`), "upsert", () => enc.encode(value));
    }
    await storage.txns.commit(txn);
  };
  await commit("a");
  tree.vacuum(0);
  await commit("b");
  const pass = tree.startVacuum(0);
  assert.deepEqual(pass.step(20), { removed: 20, keys: 20, done: false });
  // Another pass in between (a VACUUM statement) decides the other 30; the first skips them.
  assert.equal(tree.vacuum(0), 30);
  assert.equal(tree.needsVacuum(), false);
  assert.deepEqual(pass.step(100), { removed: 0, keys: 30, done: true });
  await commit("c");
  const abandoned = tree.startVacuum(0);
  assert.equal(abandoned.step(10).removed, 10);
  assert.equal(tree.vacuum(0), 40, "the 40 keys the abandoned pass never reached");
  assert.equal(rawVersions(tree).length, 50);
});
