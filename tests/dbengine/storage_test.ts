import assert from "node:assert/strict";
import type { BTree } from "../../dbengine/btree/btree.ts";
import { RecoveryError } from "../../dbengine/storage.ts";
import { Rng } from "../../lib/rng.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";
import { blockLsn } from "../../io/block.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

interface Op {
  key: Uint8Array;
  value: Uint8Array | null; // null = delete
}

function treeOf(machine: Awaited<ReturnType<typeof boot>>): BTree {
  const root = machine.storage.store.meta("catalogRoot");
  assert.notEqual(root, 0, "the test tree was created");
  return machine.storage.openTree(root, 1);
}

function contents(tree: BTree): Map<string, string> {
  const out = new Map<string, string>();
  let start: Uint8Array | undefined;
  for (;;) {
    const batch = tree.batch(start ? { start, startInclusive: false, limit: 500 } : { limit: 500 });
    if (batch.length === 0) return out;
    for (const e of batch) out.set(hex(e.key), hex(e.value));
    start = batch[batch.length - 1]!.key;
  }
}

function apply(model: Map<string, string>, op: Op): void {
  if (op.value === null) model.delete(hex(op.key));
  else model.set(hex(op.key), hex(op.value));
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/**
 * Runs concurrent committers against a fresh or recovered machine, cuts power at a random
 * moment, reboots, and checks: every acknowledged operation is present, the state is exactly
 * some prefix of the operation log (nothing partial, nothing reordered), and the tree is valid.
 */
async function crashRound(
  seed: number,
): Promise<{ acked: number; logged: number; crashes: number }> {
  const rng = new Rng(seed);
  let media = newMedia();
  // A pool far smaller than the tree (constant eviction) and syncs that take a while (many
  // commits share each one, and pages with unsynced log records come up for eviction).
  let machine = await boot(media, seed, 16, 1 + (seed % 3));
  machine.storage.store.run(0, () => {
    const tree = machine.storage.createTree();
    machine.storage.store.setMeta("catalogRoot", tree.root);
  });
  await machine.storage.checkpoint();
  const log: Op[] = []; // every operation in WAL order, acked or not
  let model = new Map<string, string>(); // state after the recovered prefix of `log`
  let ackedCount = 0;
  let crashes = 0;
  for (let round = 0; round < 4; round++) {
    const tree = treeOf(machine);
    const startIndex = log.length;
    let maxAcked = startIndex - 1;
    let stop = false;
    const committer = async (id: number) => {
      for (let i = 0; !stop && i < 400; i++) {
        const key = new Uint8Array([id, rng.nextInt(256), rng.nextInt(256)]);
        const value = rng.nextInt(5) === 0 ? null : new Uint8Array(rng.nextInt(300)).fill(i & 0xff);
        const index = log.length;
        machine.storage.store.run(
          index + 1,
          () => (value === null ? tree.delete(key) : tree.put(key, value)),
        );
        log.push({ key, value });
        await machine.storage.commit(index + 1);
        if (stop) return;
        maxAcked = Math.max(maxAcked, index);
        ackedCount++;
      }
    };
    const checkpointer = async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, 5 + rng.nextInt(30)));
        if (!stop) await machine.storage.checkpoint();
      }
    };
    const crashAfterMs = 10 + rng.nextInt(150);
    const workers = [1, 2, 3, 4].map((id) => committer(id).catch(() => {}));
    const background = checkpointer().catch(() => {});
    await new Promise((r) => setTimeout(r, crashAfterMs));
    stop = true;
    media = powerLoss(machine);
    crashes++;
    await Promise.all([...workers, background]);
    machine = await boot(media, seed + round * 7, 16, 1 + (seed % 3));
    const recovered = contents(treeOf(machine));
    treeOf(machine).check();
    // The state is the prefix of `log` up to some k ≥ maxAcked + 1 (every acknowledged
    // operation). When the redo saw operation T's group (txn T = index + 1), k is exactly
    // max(T, maxAcked + 1): nothing after the log's end reached the pages (WAL before data).
    // (A delete of a missing key changes no page and logs no group, hence the max.)
    for (let i = startIndex; i <= maxAcked; i++) apply(model, log[i]!);
    const lastLogged = machine.storage.recovery.lastGroupTxn;
    let k = maxAcked + 1;
    const candidate = new Map(model);
    if (lastLogged > startIndex) {
      while (k < lastLogged) apply(candidate, log[k++]!);
      assert.ok(
        sameMap(candidate, recovered),
        `seed ${seed} round ${round}: state is not the logged prefix ${k}`,
      );
    } else {
      while (!sameMap(candidate, recovered)) {
        assert.ok(
          k < log.length,
          `seed ${seed} round ${round}: recovered state is no prefix of the log (acked through ${maxAcked}, logged ${log.length})`,
        );
        apply(candidate, log[k]!);
        k++;
      }
    }
    model = candidate;
    log.length = k; // unrecovered operations never happened
  }
  return { acked: ackedCount, logged: log.length, crashes };
}

Deno.test("power loss at random moments never loses an acknowledged commit and leaves a prefix of the log", async () => {
  let acked = 0;
  let crashes = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const result = await crashRound(seed);
    acked += result.acked;
    crashes += result.crashes;
  }
  assert.ok(acked > 500, `acknowledged commits ${acked}`);
  assert.equal(crashes, 48);
});

Deno.test("recovery replays from the checkpoint and reports it; a clean restart replays nothing", async () => {
  const media = newMedia();
  const machine = await boot(media, 1);
  assert.equal(machine.storage.recovery.formatted, true);
  const tree = machine.storage.store.run(0, () => {
    const t = machine.storage.createTree();
    machine.storage.store.setMeta("catalogRoot", t.root);
    return t;
  });
  for (let i = 0; i < 300; i++) {
    machine.storage.store.run(
      i + 1,
      () => tree.put(new Uint8Array([i >> 8, i & 0xff]), new Uint8Array(100).fill(i)),
    );
  }
  await machine.storage.commit(300);
  const crashed = await boot(powerLoss(machine), 2);
  assert.ok(
    crashed.storage.recovery.groupsApplied >= 300,
    `groups ${crashed.storage.recovery.groupsApplied}`,
  );
  assert.equal(contents(treeOf(crashed)).size, 300);
  await crashed.storage.close();
  const clean = await boot(crashed.media, 3);
  // Redo reads one group, the checkpoint's image of the meta page, and finds it on disk already.
  assert.ok(clean.storage.recovery.groupsApplied <= 1);
  assert.equal(clean.storage.recovery.pagesApplied, 0);
  assert.equal(contents(treeOf(clean)).size, 300);
});

Deno.test("a corrupt record in the middle of the durable log refuses boot, naming its LSN", async () => {
  const media = newMedia();
  const machine = await boot(media, 1);
  const tree = machine.storage.store.run(0, () => {
    const t = machine.storage.createTree();
    machine.storage.store.setMeta("catalogRoot", t.root);
    return t;
  });
  let firstLsn = 0;
  for (let i = 0; i < 50; i++) {
    machine.storage.store.run(i + 1, () => tree.put(new Uint8Array([i]), new Uint8Array(50)));
    if (i === 10) firstLsn = machine.storage.wal.insertLsn;
    await machine.storage.commit(i + 1);
  }
  const after = powerLoss(machine);
  // Flip one bit in the record at firstLsn (the log region starts after two superblock blocks).
  const wal = machine.storage.wal;
  const offset = wal.regionStartBytes + (firstLsn % wal.regionBytes) + 30; // its txn id field
  after.log.bytes()[offset]! ^= 0x01;
  await assert.rejects(boot(after, 5), (error) => {
    assert.ok(error instanceof RecoveryError);
    assert.match(
      error.message,
      new RegExp(`WAL record at LSN ${firstLsn} is corrupt .* valid records follow`),
    );
    return true;
  });
});

Deno.test("full-page writes: a page whose LSN equals the redo point gets an image on its next change", async () => {
  const machine = await boot(newMedia(), 5);
  const { storage } = machine;
  let tree!: ReturnType<typeof storage.createTree>;
  storage.store.run(1, () => {
    tree = storage.createTree();
  });
  await storage.commit(1);
  storage.store.run(2, () => tree.put(new Uint8Array([1]), new Uint8Array([1])));
  await storage.commit(2);
  // A checkpoint whose redo point is exactly the leaf's LSN (its group ended there): the
  // leaf reached disk with that checkpoint, so redo from it needs the leaf's image first.
  using leaf = storage.pool.pin(tree.root);
  storage.store.fullPageLsn = blockLsn(leaf.bytes);
  const images = storage.store.stats.images;
  storage.store.run(3, () => tree.put(new Uint8Array([2]), new Uint8Array([2])));
  assert.equal(storage.store.stats.images - images, 1, "the change logged a page image");
  await storage.commit(3);
  await storage.close();
});

Deno.test("after the log wraps, a clean stop reboots with no repair: a zeroed sector marks the end", async () => {
  let machine = await boot(newMedia(), 9); // a 2 MiB log: wraps twice below
  let tree!: ReturnType<typeof machine.storage.createTree>;
  machine.storage.store.run(1, () => {
    tree = machine.storage.createTree();
    machine.storage.store.setMeta("catalogRoot", tree.root);
  });
  await machine.storage.commit(1);
  const lapBytes = machine.storage.wal.regionBytes;
  for (let i = 0; machine.storage.wal.insertLsn < 2 * lapBytes; i++) {
    machine.storage.store.run(
      i + 2,
      () => tree.put(new Uint8Array([i & 0xff]), new Uint8Array(200).fill(i)),
    );
    await machine.storage.commit(i + 2);
    if (i % 50 === 49) await machine.storage.checkpoint();
  }
  await machine.storage.close();
  machine = await boot(machine.media, 9);
  assert.equal(machine.storage.recovery.endReason, "zeroed");
  await machine.storage.close();
});
