/**
 * Formatting and mounting a device (disk image or log device) through its superblock copies,
 * and growing it in extents. Works on any {@link RawDevice}, so tests mount memory and faulty
 * devices exactly as boot mounts files.
 *
 * Invariants:
 * 1. Mount only reads until every check has passed: a refused image is left untouched.
 * 2. A damaged copy is reported and the valid copy with the highest sequence number is used;
 *    the caller repairs it by writing the superblock again ({@link DiskImage.writeSuperblock}).
 * 3. The device holds at least `blockCount` blocks; the superblock is rewritten only after the
 *    space it announces has been allocated and flushed.
 */
import { assert } from "../lib/assert.ts";
import { MountError } from "../lib/errors.ts";
import { isPowerOfTwo, limits } from "../lib/limits.ts";
import { BlockDevice } from "../hw/block_device.ts";
import type { RawDevice } from "../hw/raw_device.ts";
import { CorruptBlockError, verifyBlock } from "./block.ts";
import {
  claimedBlockSize,
  decodeSuperblock,
  type DeviceRole,
  encodeSuperblock,
  imageTagOf,
  newImageId,
  roleOfMagic,
  type Superblock,
  superblockFormatVersion,
  superblockMagic,
} from "./superblock.ts";

/** Options for {@link formatDevice}. */
export interface FormatOptions {
  role: DeviceRole;
  blockSizeBytes: number;
  /** Blocks allocated at format, superblock copies included. */
  initialBlocks: number;
  /** Blocks added each time the device grows. */
  extentBlocks: number;
  /** Shared by an image and its log device; fresh when omitted. */
  imageId?: string;
  /**
   * Write zeros over the whole device at format instead of only reserving it. A reserved but
   * never written extent makes each first write to it a metadata change that fdatasync must
   * journal too (ext4's unwritten extents): measured, a commit's sync took about twice as long
   * on a reserved log as on a written one. The log device is synced on every commit, so it is
   * written out once at format, as PostgreSQL zero-fills its WAL segments.
   */
  zeroFill?: boolean;
}

/** Bytes written per call while zero-filling a device at format. */
const zeroFillChunkBytes = 1 << 20;

/** What mount expects to find. */
export interface MountExpectations {
  role: DeviceRole;
  /** The configured block size; a different one on the device is refused. */
  blockSizeBytes?: number;
  /** The image id the device must carry (a log device must belong to its image). */
  imageId?: string;
}

/** A mounted device with its superblock. */
export class DiskImage {
  readonly device: BlockDevice;
  #superblock: Superblock;
  /** Problems found and worked around at mount (damaged copies), for the boot log. */
  readonly mountReport: string[];

  constructor(device: BlockDevice, superblock: Superblock, mountReport: string[] = []) {
    assert(device.blockSizeBytes === superblock.blockSizeBytes, "device and superblock agree");
    this.device = device;
    this.#superblock = superblock;
    this.mountReport = mountReport;
  }

  /** A copy of the current superblock. */
  get superblock(): Superblock {
    return { ...this.#superblock };
  }

  /** The tag every block of this image carries. */
  get imageTag(): number {
    return imageTagOf(this.#superblock.imageId);
  }

  /** Blocks the image holds now. */
  get blockCount(): number {
    return this.#superblock.blockCount;
  }

  /** Writes every superblock copy with the next sequence number, flushing after each copy. */
  writeSuperblock(changes: Partial<Pick<Superblock, "blockCount" | "checkpointLsn">> = {}): void {
    const next: Superblock = {
      ...this.#superblock,
      ...changes,
      sequence: this.#superblock.sequence + 1,
    };
    writeCopies(this.device, next);
    this.#superblock = next;
  }

  /**
   * {@link writeSuperblock} without holding the thread during the syncs (a checkpoint's last
   * step): the new superblock is current at once, and each copy is written and synced in turn,
   * with whatever superblock is current then, so a synchronous rewrite in between (growth) is
   * never undone.
   */
  async writeSuperblockAsync(
    changes: Partial<Pick<Superblock, "blockCount" | "checkpointLsn">> = {},
  ): Promise<void> {
    this.#superblock = { ...this.#superblock, ...changes, sequence: this.#superblock.sequence + 1 };
    const block = new Uint8Array(this.#superblock.blockSizeBytes);
    for (let copy = 0; copy < limits.superblockCopiesCount; copy++) {
      encodeSuperblock(block, this.#superblock, copy);
      this.device.write(copy, block);
      await this.device.flushAsync(); // one copy at a time: a crash leaves the other copy whole
    }
  }

  /** Grows the image so that block `blockIndex` exists, by whole extents. */
  ensureBlock(blockIndex: number): void {
    if (blockIndex < this.#superblock.blockCount) return;
    const extent = this.#superblock.extentBlocks;
    const extents = Math.ceil((blockIndex + 1 - this.#superblock.blockCount) / extent);
    const blockCount = this.#superblock.blockCount + extents * extent;
    this.device.grow(blockCount);
    this.device.flush(); // the space exists durably before the superblock announces it
    this.writeSuperblock({ blockCount });
  }

  close(): void {
    this.device.close();
  }
}

function writeCopies(device: BlockDevice, superblock: Superblock): void {
  const block = new Uint8Array(superblock.blockSizeBytes);
  for (let copy = 0; copy < limits.superblockCopiesCount; copy++) {
    encodeSuperblock(block, superblock, copy);
    device.write(copy, block);
    device.flush(); // one copy at a time: a crash leaves the other copy whole
  }
}

/** Formats an empty raw device and returns it mounted. */
export function formatDevice(raw: RawDevice, options: FormatOptions): DiskImage {
  assert(isPowerOfTwo(options.blockSizeBytes), "block size is a power of two");
  assert(options.initialBlocks >= limits.superblockCopiesCount, "room for the superblocks");
  assert(options.extentBlocks >= 1, "extents hold at least one block");
  const device = new BlockDevice(raw, options.blockSizeBytes);
  device.grow(options.initialBlocks);
  if (options.zeroFill === true) {
    const totalBytes = options.initialBlocks * options.blockSizeBytes;
    const zeros = new Uint8Array(Math.min(zeroFillChunkBytes, totalBytes));
    for (let offset = 0; offset < totalBytes; offset += zeros.length) {
      raw.write(zeros.subarray(0, Math.min(zeros.length, totalBytes - offset)), offset);
    }
  }
  device.flush();
  const superblock: Superblock = {
    role: options.role,
    version: superblockFormatVersion,
    blockSizeBytes: options.blockSizeBytes,
    blockCount: options.initialBlocks,
    imageId: options.imageId ?? newImageId(),
    sequence: 1,
    checkpointLsn: 0,
    extentBlocks: options.extentBlocks,
  };
  writeCopies(device, superblock);
  return new DiskImage(device, superblock);
}

type CopyProbe =
  | { ok: true; superblock: Superblock }
  | { ok: false; problem: string; versionProblem?: string };

const legalBlockSizes: number[] = [];
for (let size = limits.blockSizeBytesMin; size <= limits.blockSizeBytesMax; size *= 2) {
  legalBlockSizes.push(size);
}

/** Probes copy `copyIndex`; `knownBlockSize` comes from a valid copy 0 when there is one. */
function probeCopy(raw: RawDevice, copyIndex: number, knownBlockSize?: number): CopyProbe {
  const size = raw.sizeBytes();
  let candidates = knownBlockSize === undefined ? legalBlockSizes : [knownBlockSize];
  if (copyIndex === 0 && size >= limits.blockSizeBytesMin) {
    const head = new Uint8Array(limits.blockSizeBytesMin);
    raw.read(head, 0);
    const claimed = claimedBlockSize(head);
    if (legalBlockSizes.includes(claimed)) candidates = [claimed];
  }
  // Among several candidate sizes, report the most telling problem: a bad checksum says more
  // than a zeroed block at some other size's offset.
  let problem = `no copy at block ${copyIndex} for any block size`;
  let problemRank = 0;
  for (const blockSize of candidates) {
    const offset = copyIndex * blockSize;
    if (offset + blockSize > size) continue;
    const block = new Uint8Array(blockSize);
    raw.read(block, offset);
    try {
      verifyBlock(block, raw.name, copyIndex, 0);
    } catch (error) {
      if (!(error instanceof CorruptBlockError)) throw error;
      if (error.reason === "version") {
        return { ok: false, problem: error.message, versionProblem: error.message };
      }
      const rank = error.reason === "zeroed" ? 1 : 2;
      if (rank > problemRank) {
        problem = `superblock copy ${copyIndex} is damaged (${error.reason})`;
        problemRank = rank;
      }
      continue;
    }
    const decoded = decodeSuperblock(block);
    if (decoded === undefined) {
      problem = `superblock copy ${copyIndex} has a foreign magic "${superblockMagic(block)}"`;
      problemRank = 3;
      continue;
    }
    if (decoded.copyIndex !== copyIndex || decoded.superblock.blockSizeBytes !== blockSize) {
      problem = `superblock copy ${copyIndex} is misplaced`;
      problemRank = 3;
      continue;
    }
    return { ok: true, superblock: decoded.superblock };
  }
  return { ok: false, problem };
}

/**
 * Mounts a formatted device: finds the newest valid superblock copy and checks it against
 * `expect`. Throws {@link MountError} naming the device, without writing anything, when the
 * device cannot be used.
 */
export function mountDevice(raw: RawDevice, expect: MountExpectations): DiskImage {
  const name = raw.name;
  const sizeBytes = raw.sizeBytes();
  const valid: Superblock[] = [];
  const problems: string[] = [];
  for (let copy = 0; copy < limits.superblockCopiesCount; copy++) {
    const probe = probeCopy(raw, copy, valid[0]?.blockSizeBytes);
    if (probe.ok) valid.push(probe.superblock);
    else if (probe.versionProblem !== undefined) {
      throw new MountError(`Cannot mount ${name}: ${probe.versionProblem}`);
    } else problems.push(probe.problem);
  }
  if (valid.length === 0) throw new MountError(noValidCopyMessage(raw, problems));
  valid.sort((a, b) => b.sequence - a.sequence);
  const superblock = valid[0]!;
  for (const other of valid) {
    if (other.imageId !== superblock.imageId) {
      throw new MountError(`Cannot mount ${name}: superblock copies name different images`);
    }
  }
  checkExpectations(name, sizeBytes, superblock, expect);
  const device = new BlockDevice(raw, superblock.blockSizeBytes);
  return new DiskImage(
    device,
    superblock,
    problems.map((p) => `${name}: ${p}; using a valid copy`),
  );
}

function noValidCopyMessage(raw: RawDevice, problems: string[]): string {
  const size = raw.sizeBytes();
  if (size >= 8) {
    const head = new Uint8Array(Math.min(size, limits.blockSizeBytesMin));
    raw.read(head, 0);
    const magic = superblockMagic(head);
    if (head.some((b) => b !== 0) && roleOfMagic(magic) === undefined) {
      return `Cannot mount ${raw.name}: not an ExoDB device (no ExoDB magic in its first block)`;
    }
  }
  return `Cannot mount ${raw.name}: no valid superblock copy (${problems.join("; ")})`;
}

function checkExpectations(
  name: string,
  sizeBytes: number,
  superblock: Superblock,
  expect: MountExpectations,
): void {
  if (superblock.role !== expect.role) {
    throw new MountError(
      `Cannot mount ${name}: it is a ${superblock.role} device, expected ${expect.role}`,
    );
  }
  if (superblock.version !== superblockFormatVersion) {
    throw new MountError(
      `Cannot mount ${name}: superblock format version ${superblock.version}, this build reads ${superblockFormatVersion}`,
    );
  }
  if (expect.blockSizeBytes !== undefined && superblock.blockSizeBytes !== expect.blockSizeBytes) {
    throw new MountError(
      `Cannot mount ${name}: formatted with ${superblock.blockSizeBytes}-byte blocks, configured for ${expect.blockSizeBytes}`,
    );
  }
  if (expect.imageId !== undefined && superblock.imageId !== expect.imageId) {
    throw new MountError(
      `Cannot mount ${name}: it belongs to image ${superblock.imageId}, expected ${expect.imageId}`,
    );
  }
  const expectedBytes = superblock.blockCount * superblock.blockSizeBytes;
  if (sizeBytes < expectedBytes) {
    throw new MountError(
      `Cannot mount ${name}: truncated, expected ${expectedBytes} bytes, found ${sizeBytes}`,
    );
  }
}
