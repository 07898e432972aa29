/**
 * The superblock: what a device is and how it is laid out. Kept in `limits.superblockCopiesCount`
 * copies at blocks 0..n-1, each a sealed block (type superblock or logSuperblock) whose checksum
 * covers the whole block. Payload, after the 32-byte block header:
 *
 * | offset | bytes | field                                                          |
 * |-------:|------:|----------------------------------------------------------------|
 * |     32 |     8 | magic: "EXODBIMG" (disk image) or "EXODBLOG" (log device)      |
 * |     40 |     4 | format version ({@link superblockFormatVersion})               |
 * |     44 |     4 | block size in bytes                                            |
 * |     48 |     8 | block count: the device holds at least this many blocks        |
 * |     56 |    16 | image id (random at format; the data and log device share it) |
 * |     72 |     8 | sequence number: +1 on every superblock write                 |
 * |     80 |     8 | checkpoint LSN (0 until the storage engine sets it)            |
 * |     88 |     8 | growth extent in blocks                                        |
 * |     96 |     4 | copy index (which of the copies this is)                       |
 * |    100 |    28 | reserved, zero                                                 |
 *
 * Invariant: copies are written one at a time with a flush after each, so a crash while writing
 * leaves at least one valid copy; mount takes the valid copy with the highest sequence number.
 */
import { assert } from "../lib/assert.ts";
import { limits } from "../lib/limits.ts";
import { blockHeaderBytes, BlockType, type BlockTypeValue, sealBlock } from "./block.ts";

/** The superblock format version this build writes and reads. */
export const superblockFormatVersion = 1;

/** What kind of device a superblock describes. */
export type DeviceRole = "image" | "log";

const magics: Record<DeviceRole, string> = { image: "EXODBIMG", log: "EXODBLOG" };
const types: Record<DeviceRole, BlockTypeValue> = {
  image: BlockType.superblock,
  log: BlockType.logSuperblock,
};

const at = {
  magic: blockHeaderBytes,
  version: blockHeaderBytes + 8,
  blockSize: blockHeaderBytes + 12,
  blockCount: blockHeaderBytes + 16,
  imageId: blockHeaderBytes + 24,
  sequence: blockHeaderBytes + 40,
  checkpointLsn: blockHeaderBytes + 48,
  extentBlocks: blockHeaderBytes + 56,
  copyIndex: blockHeaderBytes + 64,
} as const;

/** Decoded superblock fields. */
export interface Superblock {
  role: DeviceRole;
  version: number;
  blockSizeBytes: number;
  blockCount: number;
  /** 32 hex digits. */
  imageId: string;
  sequence: number;
  checkpointLsn: number;
  extentBlocks: number;
}

/** The image tag stamped on every block: the low 32 bits of the image id. */
export function imageTagOf(imageId: string): number {
  assert(/^[0-9a-f]{32}$/.test(imageId), `image id must be 32 hex digits: ${imageId}`);
  return parseInt(imageId.slice(24), 16) >>> 0 || 1; // never 0: 0 means "don't check"
}

/** A fresh random image id. */
export function newImageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x1_0000_0000;
}

function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Fills `block` (one whole block) with copy `copyIndex` of `superblock`, sealed. */
export function encodeSuperblock(
  block: Uint8Array,
  superblock: Superblock,
  copyIndex: number,
): void {
  assert(block.length === superblock.blockSizeBytes, "superblock buffer is one block");
  assert(copyIndex < limits.superblockCopiesCount, "copy index within the copies");
  block.fill(0);
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  new TextEncoder().encodeInto(magics[superblock.role], block.subarray(at.magic, at.magic + 8));
  view.setUint32(at.version, superblock.version, true);
  view.setUint32(at.blockSize, superblock.blockSizeBytes, true);
  setU64(view, at.blockCount, superblock.blockCount);
  for (let i = 0; i < 16; i++) {
    block[at.imageId + i] = parseInt(superblock.imageId.slice(i * 2, i * 2 + 2), 16);
  }
  setU64(view, at.sequence, superblock.sequence);
  setU64(view, at.checkpointLsn, superblock.checkpointLsn);
  setU64(view, at.extentBlocks, superblock.extentBlocks);
  view.setUint32(at.copyIndex, copyIndex, true);
  sealBlock(block, {
    type: types[superblock.role],
    blockNumber: copyIndex,
    imageTag: imageTagOf(superblock.imageId),
    lsn: 0,
  });
}

/** The magic string at the superblock's magic offset, decoded as Latin-1. */
export function superblockMagic(block: Uint8Array): string {
  return String.fromCharCode(...block.subarray(at.magic, at.magic + 8));
}

/** The role a magic string names, or undefined for a foreign file. */
export function roleOfMagic(magic: string): DeviceRole | undefined {
  if (magic === magics.image) return "image";
  if (magic === magics.log) return "log";
  return undefined;
}

/** The block size a superblock claims, read before its checksum can be checked. */
export function claimedBlockSize(block: Uint8Array): number {
  return new DataView(block.buffer, block.byteOffset, block.byteLength).getUint32(
    at.blockSize,
    true,
  );
}

/** Decodes a block whose checksum already verified. Undefined when the magic is foreign. */
export function decodeSuperblock(
  block: Uint8Array,
): { superblock: Superblock; copyIndex: number } | undefined {
  const role = roleOfMagic(superblockMagic(block));
  if (role === undefined) return undefined;
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  let imageId = "";
  for (let i = 0; i < 16; i++) imageId += block[at.imageId + i]!.toString(16).padStart(2, "0");
  return {
    superblock: {
      role,
      version: view.getUint32(at.version, true),
      blockSizeBytes: view.getUint32(at.blockSize, true),
      blockCount: getU64(view, at.blockCount),
      imageId,
      sequence: getU64(view, at.sequence),
      checkpointLsn: getU64(view, at.checkpointLsn),
      extentBlocks: getU64(view, at.extentBlocks),
    },
    copyIndex: view.getUint32(at.copyIndex, true),
  };
}
