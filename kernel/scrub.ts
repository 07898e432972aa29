/**
 * The online checksum scrub: reads every used block of the disk image straight from the device
 * (not the pool) and verifies its checksum, own block number and image tag, a slice at a time in
 * the background class, so a flipped bit at rest is found before a statement trips over it.
 *
 * Invariants:
 * 1. Read-only: the scrub never writes, repairs or evicts; it only reports.
 * 2. A block that is dirty in the buffer pool is skipped (its disk copy is legitimately older,
 *    or not written yet); every other block below the high-water mark must verify.
 * 3. Device reads are synchronous on the kernel thread, so a read never sees a half-written block.
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
  for (let b = limits.superblockCopiesCount; b < highWater; b++) {
    if (context.shouldYield()) {
      await context.yield();
      report.slices++;
    }
    if (storage.pool.isDirty(b)) {
      report.blocksSkippedDirty++;
      continue;
    }
    device.read(b, block);
    report.blocksChecked++;
    const problem = blockProblem(block, device.name, b, image.imageTag);
    if (problem !== undefined) report.errors.push(problem);
  }
  return report;
}
