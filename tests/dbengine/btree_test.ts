import assert from "node:assert/strict";
import { BTree, KeyTooLongError } from "../../dbengine/btree/btree.ts";
import { compareKeys } from "../../dbengine/key_codec.ts";
import { Rng } from "../../lib/rng.ts";
import { MemoryPageStore } from "./_memory_store.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && compareKeys(a, b) === 0;
}

function randomBytes(rng: Rng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  rng.fill(out);
  return out;
}

interface ModelEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** A sorted in-memory model of the tree: a map for lookups, a sorted array for scans. */
class Model {
  readonly map = new Map<string, ModelEntry>();
  readonly #sorted: ModelEntry[] = [];

  #find(key: Uint8Array): { index: number; found: boolean } {
    let low = 0;
    let high = this.#sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const c = compareKeys(this.#sorted[mid]!.key, key);
      if (c < 0) low = mid + 1;
      else if (c > 0) high = mid;
      else return { index: mid, found: true };
    }
    return { index: low, found: false };
  }

  set(id: string, entry: ModelEntry): void {
    const { index, found } = this.#find(entry.key);
    if (found) this.#sorted[index] = entry;
    else this.#sorted.splice(index, 0, entry);
    this.map.set(id, entry);
  }

  delete(id: string, key: Uint8Array): boolean {
    const { index, found } = this.#find(key);
    if (found) this.#sorted.splice(index, 1);
    return this.map.delete(id) && found;
  }

  sorted(): readonly ModelEntry[] {
    return this.#sorted;
  }
}

function randomKey(rng: Rng, tree: BTree): Uint8Array {
  const draw = rng.nextInt(100);
  // Short keys from a small alphabet collide often (updates, deletes of present keys); a few
  // keys are long to stress splits and separators.
  if (draw < 70) return randomBytes(rng, 1 + rng.nextInt(6)).map((b) => b & 0x0f);
  if (draw < 97) return randomBytes(rng, 1 + rng.nextInt(40));
  return randomBytes(rng, tree.keyBytesMax - rng.nextInt(10));
}

function randomValue(rng: Rng): Uint8Array {
  const draw = rng.nextInt(1000);
  if (draw < 5) return randomBytes(rng, 3000 + rng.nextInt(20_000)); // overflow chain
  return randomBytes(rng, rng.nextInt(draw < 900 ? 40 : 400));
}

function checkScan(tree: BTree, model: Model, rng: Rng): void {
  const sorted = model.sorted();
  const reverse = rng.nextInt(2) === 1;
  const startIndex = sorted.length === 0 ? 0 : rng.nextInt(sorted.length);
  const start = rng.nextInt(4) === 0 ? undefined : sorted[startIndex]?.key;
  const inclusive = rng.nextInt(2) === 1;
  const limit = 1 + rng.nextInt(300);
  const got = tree.batch({
    ...(start ? { start } : {}),
    startInclusive: inclusive,
    reverse,
    limit,
  });
  // The model's answer: walk the sorted array from the start position.
  const expected: ModelEntry[] = [];
  let index = reverse ? sorted.length - 1 : 0;
  if (start !== undefined) {
    index = reverse ? startIndex : startIndex;
    if (!inclusive) index += reverse ? -1 : 1;
  }
  while (expected.length < limit && index >= 0 && index < sorted.length) {
    expected.push(sorted[index]!);
    index += reverse ? -1 : 1;
  }
  assert.equal(got.length, expected.length, "scan length");
  for (let i = 0; i < got.length; i++) {
    assert.equal(hex(got[i]!.key), hex(expected[i]!.key), `scan key ${i}`);
    assert.ok(sameBytes(got[i]!.value, expected[i]!.value), `scan value ${i}`);
  }
}

function propertyRun(
  seed: number,
  operations: number,
  blockSize: number,
  keyPrefixBytes = 0,
): void {
  // A shared key prefix makes every separator long, so internal nodes hold few and the tree
  // grows deep: merges and redistributions then happen at the internal levels too.
  const prefix = new Uint8Array(keyPrefixBytes).fill(0xa5);
  const rng = new Rng(seed);
  const store = new MemoryPageStore(blockSize, 48); // small pool: constant eviction and re-reads
  const tree = BTree.create(store, 1);
  const model = new Model();
  let deepest = 0;
  for (let op = 1; op <= operations; op++) {
    const draw = rng.nextInt(100);
    const suffix = randomKey(rng, tree);
    const key = keyPrefixBytes === 0 ? suffix : new Uint8Array([...prefix, ...suffix]);
    if (key.length > tree.keyBytesMax) continue;
    const id = hex(key);
    if (draw < 55) {
      const value = randomValue(rng);
      assert.equal(tree.put(key, value), !model.map.has(id), `put new? op ${op}`);
      model.set(id, { key, value });
    } else if (draw < 85) {
      assert.equal(tree.delete(key), model.delete(id, key), `delete present? op ${op}`);
    } else if (draw < 99) {
      const got = tree.get(key);
      const want = model.map.get(id)?.value;
      assert.ok(sameBytes(got, want), `get op ${op}`);
    } else {
      checkScan(tree, model, rng);
    }
    if (op % 10_000 === 0) {
      const shape = tree.check();
      deepest = Math.max(deepest, shape.depth);
      assert.equal(shape.entries, model.map.size, `entry count at op ${op}`);
      assert.equal(store.pool.pinnedCount(), 0, "no leaked pins");
    }
  }
  if (keyPrefixBytes > 0) assert.ok(deepest >= 3, `the tree grew only ${deepest} levels deep`);
  // Drain: delete everything; the tree shrinks back to its root and frees every page.
  for (const entry of [...model.sorted()]) assert.ok(tree.delete(entry.key));
  const empty = tree.check();
  assert.equal(empty.entries, 0);
  assert.equal(empty.depth, 1, "collapsed back to a root leaf");
  assert.equal(store.pagesInUse(), 1, "every page but the root was freed");
}

for (const seed of [1, 2, 3]) {
  Deno.test(`B+tree matches a sorted model over 100k random operations (seed ${seed}, 4 KiB blocks)`, () => {
    propertyRun(seed, 100_000, 4096);
  });
}

Deno.test("B+tree matches the model with 8 KiB blocks (seed 4)", () => {
  propertyRun(4, 100_000, 8192);
});

Deno.test("B+tree matches the model with long shared key prefixes, a deep tree (seed 5)", () => {
  propertyRun(5, 60_000, 4096, 180);
});

Deno.test("sequential inserts, both directions, build a valid tree and scan back in order", () => {
  const store = new MemoryPageStore(4096, 64);
  const tree = BTree.create(store, 2);
  const key = (i: number) => new Uint8Array([i >> 16, (i >> 8) & 0xff, i & 0xff]);
  const value = (i: number) => new Uint8Array(50).fill(i & 0xff);
  for (let i = 0; i < 20_000; i++) tree.put(key(i), value(i));
  for (let i = 40_000; i > 20_000; i--) tree.put(key(i), value(i));
  const shape = tree.check();
  assert.equal(shape.entries, 40_000);
  assert.ok(shape.depth >= 3, `depth ${shape.depth}`);
  let previous: Uint8Array | undefined;
  let count = 0;
  for (;;) {
    const batch = tree.batch(
      previous ? { start: previous, startInclusive: false, limit: 1000 } : { limit: 1000 },
    );
    if (batch.length === 0) break;
    for (const entry of batch) {
      if (previous) assert.ok(compareKeys(previous, entry.key) < 0);
      previous = entry.key;
      count++;
    }
  }
  assert.equal(count, 40_000);
  const reversed = tree.batch({ reverse: true, limit: 3 });
  assert.deepEqual(reversed.map((e) => hex(e.key)), [
    hex(key(40_000)),
    hex(key(39_999)),
    hex(key(39_998)),
  ]);
  const bounded = tree.batch({ start: key(100), end: key(105), limit: 100 });
  assert.equal(bounded.length, 5);
});

Deno.test("a 1 MB value round-trips through an overflow chain and is freed on delete", () => {
  const store = new MemoryPageStore(8192, 32);
  const tree = BTree.create(store, 3);
  const big = randomBytes(new Rng(5), 1024 * 1024);
  tree.put(new Uint8Array([1]), big);
  const shape = tree.check();
  assert.ok(shape.overflowPages >= 128, `overflow pages ${shape.overflowPages}`);
  assert.equal(hex(tree.get(new Uint8Array([1]))!), hex(big));
  tree.put(new Uint8Array([1]), new Uint8Array([9]));
  assert.equal(store.pagesInUse(), 1, "replacing the value freed its chain");
});

Deno.test("keys above the limit are refused with SQLSTATE 54000", () => {
  const store = new MemoryPageStore(4096, 32);
  const tree = BTree.create(store, 4);
  assert.throws(
    () => tree.put(new Uint8Array(tree.keyBytesMax + 1), new Uint8Array()),
    (e) => e instanceof KeyTooLongError && e.sqlState === "54000",
  );
  assert.equal(tree.put(new Uint8Array(tree.keyBytesMax), new Uint8Array()), true);
});

// Long keys keep the fan-out low, so the tree is four or more levels deep and deletes in random
// order underfill internal nodes too: an internal node that is its parent's last child merges
// into its left sibling, and the merge cascades (a block freed by a merge one level up must not
// be released again by the level below).
for (const seed of [11, 12]) {
  Deno.test(`random-order deletes from a deep tree cascade merges up to the root (seed ${seed})`, () => {
    const rng = new Rng(seed);
    const store = new MemoryPageStore(4096, 64);
    const tree = BTree.create(store, 5);
    const keyOf = (i: number) => {
      // A shared prefix keeps separators long (they are shortened only to the first difference).
      const key = new Uint8Array(200).fill(0x5a);
      new DataView(key.buffer).setUint32(196, i * 2654435761 >>> 0);
      return key;
    };
    const count = 20_000;
    const order = Array.from({ length: count }, (_, i) => i);
    for (const i of order) tree.put(keyOf(i), new Uint8Array([i & 0xff]));
    const full = tree.check();
    assert.equal(full.entries, count);
    assert.ok(full.depth >= 4, `depth ${full.depth}`);
    for (let i = count - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let n = 0; n < count; n++) {
      assert.ok(tree.delete(keyOf(order[n]!)), `delete ${n}`);
      assert.equal(store.pool.pinnedCount(), 0, `no leaked pins after delete ${n}`);
      if (n % 2000 === 0) assert.equal(tree.check().entries, count - n - 1, `entries after ${n}`);
    }
    const empty = tree.check();
    assert.equal(empty.entries, 0);
    assert.equal(empty.depth, 1, "collapsed back to a root leaf");
    assert.equal(store.pagesInUse(), 1, "every page but the root was freed");
  });
}
