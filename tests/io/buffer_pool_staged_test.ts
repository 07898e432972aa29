/**
 * Staged write-back (buffer-pool rule 5) against a device whose asynchronous writes wait until
 * the test lets them land, so the races the rule is for happen on purpose: a staged block
 * dirtied and written again before its staged write landed, and a staged block evicted and
 * read back while the disk still holds its old bytes.
 */
import assert from "node:assert/strict";
import { BlockDevice } from "../../hw/block_device.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import type { RawDevice } from "../../hw/raw_device.ts";
import { blockHeaderBytes, BlockType } from "../../io/block.ts";
import { BufferPool } from "../../io/buffer_pool.ts";

const imageTag = 0x5eed;
const blockSize = 4096;
const frames = 16; // the pool's minimum

/**
 * A memory device with the off-thread write pair: `writeAsync` is held until `land()`;
 * `writeQueued` lands everything held before it, then itself (the ring's order); a plain `write`
 * lands at once, overtaking whatever is held.
 */
class HeldWritesDevice extends MemoryDevice implements RawDevice {
  readonly held: { source: Uint8Array; offset: number; done: () => void }[] = [];

  writeAsync(source: Uint8Array, offsetBytes: number): Promise<void> {
    return new Promise((done) => this.held.push({ source, offset: offsetBytes, done }));
  }

  writeQueued(source: Uint8Array, offsetBytes: number): void {
    this.land();
    this.write(source, offsetBytes);
  }

  land(): void {
    for (const { source, offset, done } of this.held.splice(0)) {
      this.write(source, offset);
      done();
    }
  }
}

function word(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(blockHeaderBytes, true);
}

function setWord(bytes: Uint8Array, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(blockHeaderBytes, value, true);
}

function setup() {
  const raw = new HeldWritesDevice("staged", 64 * blockSize);
  const device = new BlockDevice(raw, blockSize);
  const pool = new BufferPool(device, { frameCount: frames, imageTag });
  return { raw, device, pool };
}

/** Writes `value` into block `block` through the pool and marks it dirty. */
function change(pool: BufferPool, block: number, value: number, create = false): void {
  using guard = create ? pool.pinNew(block, BlockType.test) : pool.pin(block);
  setWord(guard.bytes, value);
  guard.markDirty();
}

/** Evicts everything but what is pinned, by touching `frames` other blocks. */
function churn(pool: BufferPool, from: number): void {
  for (let b = from; b < from + frames; b++) change(pool, b, b, true);
  pool.flushAll();
}

function diskWord(device: BlockDevice, block: number): number {
  const bytes = new Uint8Array(blockSize);
  device.read(block, bytes);
  return word(bytes);
}

Deno.test("a staged block written again before its staged write lands ends with the newer bytes", async () => {
  const { raw, device, pool } = setup();
  assert.ok(device.writesOffThread);
  change(pool, 5, 1, true);
  const copy = new Uint8Array(blockSize);
  assert.notEqual(pool.stage(5, copy), undefined);
  assert.equal(pool.stats().dirty, 0, "staging marks the frame clean");
  const staged = device.writeRunAsync(5, copy); // held: not on the disk yet
  change(pool, 5, 2);
  pool.flushAll(); // writes version 2 while version 1 is still held
  raw.land();
  await staged;
  pool.unstage(5, copy);
  // With a plain write, version 2 would land first and the held version 1 over it.
  assert.equal(diskWord(device, 5), 2);
  assert.equal(pool.stagedCopy(5), undefined);
});

Deno.test("a staged block evicted before its write lands is read back from the staged copy", async () => {
  const { raw, device, pool } = setup();
  change(pool, 7, 1, true);
  pool.flushAll();
  change(pool, 7, 2);
  const copy = new Uint8Array(blockSize);
  pool.stage(7, copy);
  const staged = device.writeRunAsync(7, copy);
  churn(pool, 20); // block 7 is clean, so it is dropped without a write
  assert.equal(diskWord(device, 7), 1, "the disk still holds the old version");
  {
    using guard = pool.pin(7);
    assert.equal(word(guard.bytes), 2, "the miss is served from the staged copy");
  }
  // A prefetch (a batched read) sees the staged bytes too.
  churn(pool, 40);
  pool.prefetch([6, 7, 8]);
  {
    using guard = pool.pin(7);
    assert.equal(word(guard.bytes), 2);
  }
  raw.land();
  await staged;
  pool.unstage(7, copy);
  churn(pool, 20);
  using guard = pool.pin(7);
  assert.equal(word(guard.bytes), 2, "after the write landed, from the disk");
  assert.equal(diskWord(device, 7), 2);
});

Deno.test("unstage keeps a later staging of the same block", () => {
  const { pool } = setup();
  change(pool, 3, 1, true);
  const first = new Uint8Array(blockSize);
  pool.stage(3, first);
  change(pool, 3, 2);
  const second = new Uint8Array(blockSize);
  pool.stage(3, second);
  pool.unstage(3, first); // the first write settled: the second copy is still the newest
  assert.equal(pool.stagedCopy(3), second);
  pool.unstage(3, second);
  assert.equal(pool.stagedCopy(3), undefined);
  assert.equal(pool.stage(3, first), undefined, "a clean block is not staged");
});
