import assert from "node:assert/strict";
import { BlockDevice } from "../../hw/block_device.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import {
  blockHeaderBytes,
  BlockType,
  CorruptBlockError,
  sealBlock,
  setBlockLsn,
} from "../../io/block.ts";
import { BufferPool } from "../../io/buffer_pool.ts";
import { ExoError } from "../../lib/errors.ts";
import { Rng } from "../../lib/rng.ts";

const imageTag = 0xabc;
const blockSize = 4096;

function device(blocks: number): { memory: MemoryDevice; device: BlockDevice } {
  const memory = new MemoryDevice("pool", blocks * blockSize);
  return { memory, device: new BlockDevice(memory, blockSize) };
}

/** The payload word a test keeps in each block: its version counter. */
function word(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(blockHeaderBytes, true);
}

function setWord(bytes: Uint8Array, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(blockHeaderBytes, value, true);
  bytes.fill(value & 0xff, blockHeaderBytes + 4, blockHeaderBytes + 64);
}

Deno.test("a working set 8x the pool stays correct against a model, with no leaked pins", () => {
  const frames = 32;
  const blocks = frames * 8;
  const { device: dev } = device(blocks);
  const pool = new BufferPool(dev, { frameCount: frames, imageTag });
  const model = new Array<number>(blocks).fill(0);
  for (let b = 0; b < blocks; b++) {
    using guard = pool.pinNew(b, BlockType.test);
    setWord(guard.bytes, b * 1000);
    model[b] = b * 1000;
  }
  const rng = new Rng(1234);
  for (let step = 0; step < 50_000; step++) {
    const b = rng.nextInt(blocks);
    using guard = pool.pin(b);
    assert.equal(word(guard.bytes), model[b], `block ${b} at step ${step}`);
    assert.equal(guard.bytes[blockHeaderBytes + 10], model[b]! & 0xff);
    if (rng.nextInt(3) === 0) {
      model[b] = model[b]! + 1;
      setWord(guard.bytes, model[b]!);
      guard.markDirty();
    }
  }
  assert.equal(pool.pinnedCount(), 0, "every guard was released");
  const stats = pool.stats();
  assert.ok(stats.evictions > 10_000, `evictions ${stats.evictions}`);
  assert.ok(stats.hits > 0 && stats.misses > 0);
  assert.equal(stats.resident, frames, "memory bounded by the pool");
  pool.flushAll();
  // A second pool over the same device sees every change: nothing was lost on eviction.
  const fresh = new BufferPool(dev, { frameCount: frames, imageTag });
  for (let b = 0; b < blocks; b++) {
    using guard = fresh.pin(b);
    assert.equal(word(guard.bytes), model[b]);
  }
});

Deno.test("CLOCK gives recently used blocks a second chance", () => {
  const { device: dev } = device(64);
  const pool = new BufferPool(dev, { frameCount: 16, imageTag });
  for (let b = 0; b < 64; b++) pool.pinNew(b, BlockType.test).release();
  pool.flushAll();
  const hot = 63;
  pool.pin(hot).release();
  let hotMisses = 0;
  for (let b = 0; b < 40; b++) {
    const before = pool.stats().misses;
    pool.pin(hot).release();
    hotMisses += pool.stats().misses - before;
    pool.pin(b).release();
  }
  // At most once: the very first sweep may find every reference bit set (all frames were just
  // used) and clear them all, hot one included; from then on the hot block always has its bit.
  assert.ok(hotMisses <= 1, `hot block missed ${hotMisses} times in 40 rounds`);
  assert.ok(pool.stats().evictions >= 40, "the cold blocks did cycle through the pool");
});

Deno.test("pinned frames are never evicted; when all are pinned the pool says so", () => {
  const { device: dev } = device(64);
  const pool = new BufferPool(dev, { frameCount: 16, imageTag });
  const guards = Array.from({ length: 16 }, (_, b) => pool.pinNew(b, BlockType.test));
  guards.forEach((g, b) => setWord(g.bytes, b + 1));
  assert.throws(
    () => pool.pinNew(20, BlockType.test),
    (e) => e instanceof ExoError && e.sqlState === "53200",
  );
  guards.forEach((g, b) => assert.equal(word(g.bytes), b + 1, "pinned bytes untouched"));
  for (const g of guards) g.release();
  assert.equal(pool.pinnedCount(), 0);
  pool.pinNew(20, BlockType.test).release();
});

Deno.test("releasing a guard twice is a bug that is caught", () => {
  const { device: dev } = device(16);
  const pool = new BufferPool(dev, { frameCount: 16, imageTag });
  const guard = pool.pinNew(1, BlockType.test);
  guard.release();
  assert.throws(() => guard.release(), /released twice/);
  assert.throws(() => guard.markDirty(), /after release/);
});

Deno.test("a corrupt block fails its pin with XX001 and leaves the pool working", () => {
  const { memory, device: dev } = device(32);
  const pool = new BufferPool(dev, { frameCount: 16, imageTag });
  for (let b = 0; b < 32; b++) pool.pinNew(b, BlockType.test).release();
  pool.flushAll();
  const fresh = new BufferPool(dev, { frameCount: 16, imageTag });
  memory.bytes()[5 * blockSize + 1000]! ^= 0x04;
  for (let attempt = 0; attempt < 3; attempt++) {
    assert.throws(() => fresh.pin(5), (e) => e instanceof CorruptBlockError && e.blockNumber === 5);
  }
  assert.equal(fresh.stats().resident, 0, "no frame kept for the bad block");
  for (let b = 0; b < 32; b++) if (b !== 5) fresh.pin(b).release();
  assert.equal(fresh.pinnedCount(), 0);
});

Deno.test("dirty frames are written only after the WAL is durable up to their LSN", () => {
  const { device: dev } = device(64);
  const flushedTo: number[] = [];
  const pool = new BufferPool(dev, {
    frameCount: 16,
    imageTag,
    walFlusher: { flushTo: (lsn) => flushedTo.push(lsn) },
  });
  for (let b = 0; b < 16; b++) {
    using guard = pool.pinNew(b, BlockType.test);
    setBlockLsn(guard.bytes, 1000 + b);
  }
  assert.deepEqual(flushedTo, []);
  pool.pinNew(40, BlockType.test).release(); // forces one eviction of a dirty frame
  assert.equal(flushedTo.length, 1);
  assert.ok(flushedTo[0]! >= 1000 && flushedTo[0]! < 1016);
  assert.equal(pool.flushAll(), 16);
  assert.equal(flushedTo.length, 17);
});

Deno.test("prefetch reads runs of consecutive blocks in batches and then pins hit", () => {
  const { device: dev } = device(64);
  const writer = new BufferPool(dev, { frameCount: 64, imageTag });
  for (let b = 0; b < 64; b++) {
    using guard = writer.pinNew(b, BlockType.test);
    setWord(guard.bytes, b);
  }
  writer.flushAll();
  const pool = new BufferPool(dev, { frameCount: 32, imageTag });
  pool.prefetch([3, 4, 5, 6, 10, 11, 12, 30]);
  assert.equal(pool.stats().reads, 8);
  assert.equal(pool.stats().resident, 8);
  const missesBefore = pool.stats().misses;
  for (const b of [3, 4, 5, 6, 10, 11, 12, 30]) {
    using guard = pool.pin(b);
    assert.equal(word(guard.bytes), b);
  }
  assert.equal(pool.stats().misses, missesBefore, "all hits after prefetch");
});

Deno.test("sealing happens on write-out: a block written by the pool verifies on a cold read", () => {
  const { memory, device: dev } = device(16);
  const pool = new BufferPool(dev, { frameCount: 16, imageTag });
  {
    using guard = pool.pinNew(3, BlockType.btreeLeaf);
    setWord(guard.bytes, 99);
  }
  pool.flushAll();
  const raw = memory.bytes().slice(3 * blockSize, 4 * blockSize);
  const check = new Uint8Array(blockSize);
  check.set(raw);
  sealBlock(check, { type: BlockType.btreeLeaf, blockNumber: 3, imageTag, lsn: 0 });
  assert.deepEqual(check, raw, "the stored checksum is the one sealBlock computes");
});
