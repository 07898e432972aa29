/**
 * Every bound ExoDB keeps, in one place (TigerBeetle's constants.zig). Names end with the unit
 * and `Max`/`Min` where they are bounds. Checked once at startup by {@link checkLimits}.
 */
import { assert } from "./assert.ts";

export const limits = {
  /** Smallest and largest block size a disk image may be formatted with (powers of two). */
  blockSizeBytesMin: 4096,
  blockSizeBytesMax: 65536,
  /** The default block size, as in PostgreSQL. */
  blockSizeBytesDefault: 8192,
  /** How many superblock copies an image keeps, at blocks 0..copies-1. */
  superblockCopiesCount: 2,
  /** The fewest frames a buffer pool may have (a B+tree descent pins a handful at once). */
  poolFramesCountMin: 16,
  /** The largest buffer pool (frames live in one SharedArrayBuffer). */
  poolSizeBytesMax: 16 * 1024 ** 3,
  /** How many blocks one batched device call moves at most (bounded iovec arrays). */
  ioBatchBlocksMax: 64,
  /** The largest image, in blocks (block numbers stay exact in a JS number and a u32 pair). */
  imageBlocksCountMax: 2 ** 40,
} as const;

/** Checks the limits against each other; a failure is a bug in this file. */
export function checkLimits(): void {
  assert(limits.blockSizeBytesMin <= limits.blockSizeBytesDefault, "default block size too small");
  assert(limits.blockSizeBytesDefault <= limits.blockSizeBytesMax, "default block size too large");
  assert(isPowerOfTwo(limits.blockSizeBytesMin), "block size minimum must be a power of two");
  assert(isPowerOfTwo(limits.blockSizeBytesMax), "block size maximum must be a power of two");
  assert(limits.superblockCopiesCount >= 2, "at least two superblock copies");
  assert(limits.ioBatchBlocksMax >= 1 && limits.ioBatchBlocksMax <= 1024, "IOV_MAX is 1024");
}

/** True when `n` is a positive power of two. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
