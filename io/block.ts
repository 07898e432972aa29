/**
 * The block format shared by every block ExoDB writes (data, index, catalog, free-space map,
 * superblock, log). A 32-byte header, then the payload:
 *
 * | offset | bytes | field                                                        |
 * |-------:|------:|--------------------------------------------------------------|
 * |      0 |     4 | CRC32C of bytes 4..blockSize (header fields and payload)     |
 * |      4 |     1 | block type ({@link BlockType}); 0 never appears on a sealed block |
 * |      5 |     1 | block format version                                         |
 * |      6 |     2 | flags (owned by the block type)                              |
 * |      8 |     4 | image tag: low 32 bits of the image id (catches foreign blocks) |
 * |     12 |     4 | reserved, zero                                               |
 * |     16 |     8 | the block's own number (catches misdirected writes and reads) |
 * |     24 |     8 | LSN of the last change (WAL-before-data, recovery)           |
 * |     32 |     … | payload                                                      |
 *
 * All integers little-endian; 64-bit fields are stored as two 32-bit halves and kept below 2^53.
 *
 * Invariants:
 * 1. The checksum is computed once, by {@link sealBlock}, when a block goes out to the device,
 *    and verified once, by {@link verifyBlock}, when it comes in. In between it is the block's
 *    wire checksum too: shipping a block sends the stored value, never a recomputed one.
 * 2. A verification failure is a {@link CorruptBlockError} naming device and block: never silent,
 *    never a crash.
 * 3. An all-zero block is "never written", reported as its own reason, never valid: zeroed memory
 *    cannot pass for a block.
 */
import { assert } from "../lib/assert.ts";
import { ExoError, SqlState } from "../lib/errors.ts";
import { crc32c } from "./crc32c.ts";

/** Bytes before the payload. */
export const blockHeaderBytes = 32;

/** The block format version written by this build. */
export const blockFormatVersion = 1;

/** Block types. Values are on disk: never renumber, only add. */
export const BlockType = {
  superblock: 1,
  logSuperblock: 2,
  freeSpaceMap: 3,
  btreeLeaf: 4,
  btreeInternal: 5,
  overflow: 6,
  catalog: 7,
  wal: 8,
  meta: 9,
  free: 10,
  test: 255,
} as const;

/** A block type value. */
export type BlockTypeValue = (typeof BlockType)[keyof typeof BlockType];

const offsets = {
  checksum: 0,
  type: 4,
  version: 5,
  flags: 6,
  imageTag: 8,
  blockNumber: 16,
  lsn: 24,
} as const;

/** Why a block failed verification. */
export type CorruptionReason = "zeroed" | "checksum" | "misdirected" | "foreign" | "version";

/** A block failed verification on read: SQLSTATE XX001, as PostgreSQL's "invalid page". */
export class CorruptBlockError extends ExoError {
  override name = "CorruptBlockError";
  readonly device: string;
  readonly blockNumber: number;
  readonly reason: CorruptionReason;

  constructor(device: string, blockNumber: number, reason: CorruptionReason, detail: string) {
    super(
      SqlState.dataCorrupted,
      `invalid page in block ${blockNumber} of ${device}: ${detail}`,
    );
    this.device = device;
    this.blockNumber = blockNumber;
    this.reason = reason;
  }
}

/** The header fields of a block. */
export interface BlockHeader {
  checksum: number;
  type: number;
  version: number;
  flags: number;
  imageTag: number;
  blockNumber: number;
  lsn: number;
}

function viewOf(block: Uint8Array): DataView {
  return new DataView(block.buffer, block.byteOffset, block.byteLength);
}

function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x1_0000_0000;
}

function setU64(view: DataView, offset: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `u64 field out of range: ${value}`);
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Reads the header fields of `block` (no verification). */
export function readHeader(block: Uint8Array): BlockHeader {
  const view = viewOf(block);
  return {
    checksum: view.getUint32(offsets.checksum, true),
    type: view.getUint8(offsets.type),
    version: view.getUint8(offsets.version),
    flags: view.getUint16(offsets.flags, true),
    imageTag: view.getUint32(offsets.imageTag, true),
    blockNumber: getU64(view, offsets.blockNumber),
    lsn: getU64(view, offsets.lsn),
  };
}

/** Fields a writer sets on a block before sealing it. */
export interface SealFields {
  type: BlockTypeValue;
  blockNumber: number;
  imageTag: number;
  lsn: number;
  flags?: number;
}

/** Writes the header fields and the checksum: the one place a block checksum is computed. */
export function sealBlock(block: Uint8Array, fields: SealFields): number {
  assert(block.length > blockHeaderBytes, "block smaller than its header");
  const view = viewOf(block);
  view.setUint8(offsets.type, fields.type);
  view.setUint8(offsets.version, blockFormatVersion);
  view.setUint16(offsets.flags, fields.flags ?? 0, true);
  view.setUint32(offsets.imageTag, fields.imageTag >>> 0, true);
  view.setUint32(12, 0, true);
  setU64(view, offsets.blockNumber, fields.blockNumber);
  setU64(view, offsets.lsn, fields.lsn);
  const checksum = crc32c(block.subarray(4));
  view.setUint32(offsets.checksum, checksum, true);
  return checksum;
}

/** Sets the LSN field of a block that will be sealed later (the WAL recipe's "set page LSN"). */
export function setBlockLsn(block: Uint8Array, lsn: number): void {
  setU64(viewOf(block), offsets.lsn, lsn);
}

/** The LSN field of a block. */
export function blockLsn(block: Uint8Array): number {
  return getU64(viewOf(block), offsets.lsn);
}

/** The block type byte. */
export function blockType(block: Uint8Array): number {
  return block[offsets.type]!;
}

/** The checksum stored in the header (the Cheetah value shipped with the block). */
export function storedChecksum(block: Uint8Array): number {
  return viewOf(block).getUint32(offsets.checksum, true);
}

function isZeroed(block: Uint8Array): boolean {
  // A block inside a received frame may start at any byte offset: word reads need alignment.
  if (block.byteOffset % 4 !== 0) {
    for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
    return true;
  }
  const words = new Int32Array(block.buffer, block.byteOffset, block.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/**
 * Verifies a block just read as block `expectedNumber` of `device`: the one place a block
 * checksum is checked. `imageTag` of 0 skips the foreign-image check (the superblock probe).
 */
export function verifyBlock(
  block: Uint8Array,
  device: string,
  expectedNumber: number,
  imageTag: number,
): void {
  const view = viewOf(block);
  const stored = view.getUint32(offsets.checksum, true);
  const computed = crc32c(block.subarray(4));
  if (stored !== computed) {
    if (stored === 0 && isZeroed(block)) {
      throw new CorruptBlockError(device, expectedNumber, "zeroed", "block was never written");
    }
    throw new CorruptBlockError(
      device,
      expectedNumber,
      "checksum",
      `calculated checksum ${hex(computed)} but expected ${hex(stored)}`,
    );
  }
  const actualNumber = getU64(view, offsets.blockNumber);
  if (actualNumber !== expectedNumber) {
    throw new CorruptBlockError(
      device,
      expectedNumber,
      "misdirected",
      `block holds the contents of block ${actualNumber} (misdirected write or read)`,
    );
  }
  const version = view.getUint8(offsets.version);
  if (version !== blockFormatVersion) {
    throw new CorruptBlockError(
      device,
      expectedNumber,
      "version",
      `block format version ${version}, this build reads ${blockFormatVersion}`,
    );
  }
  const tag = view.getUint32(offsets.imageTag, true);
  if (imageTag !== 0 && tag !== imageTag >>> 0) {
    throw new CorruptBlockError(
      device,
      expectedNumber,
      "foreign",
      `block belongs to image ${hex(tag)}, not ${hex(imageTag >>> 0)}`,
    );
  }
}

/**
 * {@link verifyBlock} for whole-image sweeps (scrub, `exodb check`): the problem's message, or
 * undefined for a good block; anything but a CorruptBlockError is rethrown.
 */
export function blockProblem(
  block: Uint8Array,
  device: string,
  expectedNumber: number,
  imageTag: number,
): string | undefined {
  try {
    verifyBlock(block, device, expectedNumber, imageTag);
    return undefined;
  } catch (error) {
    if (error instanceof CorruptBlockError) return error.message;
    throw error;
  }
}

/** Verifies only the checksum against a stored value (a receiver of shipped blocks). */
export function checksumMatches(block: Uint8Array): boolean {
  return storedChecksum(block) === crc32c(block.subarray(4));
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

/** Seals a block keeping the type, flags and LSN already in its header (buffer-pool write-out). */
export function resealBlock(block: Uint8Array, blockNumber: number, imageTag: number): number {
  const view = viewOf(block);
  return sealBlock(block, {
    type: view.getUint8(offsets.type) as BlockTypeValue,
    blockNumber,
    imageTag,
    lsn: getU64(view, offsets.lsn),
    flags: view.getUint16(offsets.flags, true),
  });
}

/** Starts a fresh block in `block`: zeroes it and sets its type (the rest is set at seal time). */
export function initBlock(block: Uint8Array, type: BlockTypeValue): void {
  block.fill(0);
  block[offsets.type] = type;
}
