/**
 * The online checksum scrub: reads every used block of the disk image straight from the device
 * (not the pool) and verifies its checksum, own block number and image tag, a slice at a time in
 * the background class, so a flipped bit at rest is found before a statement trips over it.
 *
 * Invariants:
 * 1. Read-only: the scrub never writes, repairs or evicts; it only reports.
 * 2. A block that is dirty in the buffer pool is skipped (its disk copy is legitimately older,
 *    or not written yet); every other block below the high-water mark must verify.
 * 3. Reads run off the kernel thread where the device can (the I/O worker: the thread serves
 *    statements while the disk reads), a run of blocks per request. Such a read may race a
 *    checkpoint's write of the same block and see part of each, so a block that fails is read
 *    again synchronously (a synchronous read never sees a half-written block) and reported only
 *    if it fails again and is still not dirty. A block whose staged checkpoint write is still in
 *    flight (buffer-pool rule 5) is not confirmed: a synchronous read can race that one.
 */
import { blockProblem } from "../io/block.ts";
import { limits } from "../lib/limits.ts";
import type { TaskContext } from "../lib/task_context.ts";
import type { Storage } from "../dbengine/storage.ts";

/** What a scrub found. */
export interface ScrubReport {
  /** Blocks read and verified. */
  blocksChecked: number;
  /** Blocks skipped because the pool holds a newer, unwritten version. */
  blocksSkippedDirty: number;
  /** The high-water mark when the scrub started (blocks at or above it are unused). */
  highWater: number;
  /** One message per corrupt block (SQLSTATE XX001 errors, naming device and block). */
  errors: string[];
  /** Slices the scrub ran in (how often it yielded, plus one). */
  slices: number;
}

/** Scrubs `storage`'s image, yielding through `context` whenever its slice is used. */
export async function scrubImage(storage: Storage, context: TaskContext): Promise<ScrubReport> {
  const image = storage.image;
  const device = image.device;
  const highWater = storage.store.meta("highWater");
  const block = new Uint8Array(device.blockSizeBytes);
  const report: ScrubReport = {
    blocksChecked: 0,
    blocksSkippedDirty: 0,
    highWater,
    errors: [],
    slices: 1,
  };
  const blockBytes = device.blockSizeBytes;
  // One buffer for every run: the next read is submitted only after the last one settled.
  const run = new Uint8Array(scrubRunBlocks * blockBytes);
  for (let first = limits.superblockCopiesCount; first < highWater; first += scrubRunBlocks) {
    if (context.shouldYield()) {
      await context.yield();
      report.slices++;
    }
    const count = Math.min(scrubRunBlocks, highWater - first);
    const bytes = run.subarray(0, count * blockBytes);
    await context.suspend(device.readRunAsync(first, bytes)); // rule 3
    for (let i = 0; i < count; i++) {
      const b = first + i;
      if (storage.pool.isDirty(b)) {
        report.blocksSkippedDirty++;
        continue;
      }
      report.blocksChecked++;
      const copy = bytes.subarray(i * blockBytes, (i + 1) * blockBytes);
      if (blockProblem(copy, device.name, b, image.imageTag) === undefined) continue;
      // A checkpoint's write of the block may be in flight: what it reads is unconfirmed.
      if (storage.pool.stagedCopy(b) !== undefined) continue;
      device.read(b, block); // rule 3: confirm synchronously
      const problem = blockProblem(block, device.name, b, image.imageTag);
      if (problem !== undefined && !storage.pool.isDirty(b)) report.errors.push(problem);
    }
  }
  return report;
}

/** Blocks per scrub read (128 KiB of 8 KiB blocks): one request to the I/O worker each. */
export const scrubRunBlocks = 16;
