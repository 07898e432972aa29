/**
 * The online backup stream: what `EXODB_BASE_BACKUP` sends (inside CopyData messages, split
 * anywhere) and what a backup file holds, byte for byte. A sequence of frames, each starting
 * with a one-byte kind:
 *
 * Header, kind `H` (once, first; 81 bytes):
 *
 * | offset | bytes | field                                                            |
 * |-------:|------:|------------------------------------------------------------------|
 * |      0 |     1 | `H`                                                              |
 * |      1 |     8 | magic "EXOBKUP1"                                                 |
 * |      9 |     4 | stream format version ({@link backupFormatVersion})              |
 * |     13 |     4 | block size in bytes                                              |
 * |     17 |     8 | image block count at the start                                   |
 * |     25 |     8 | image growth extent in blocks                                    |
 * |     33 |     8 | log device block count (fixes where each LSN lives in the ring)  |
 * |     41 |    16 | image id                                                         |
 * |     57 |     8 | LSN of the checkpoint record the backup started with             |
 * |     65 |     8 | start LSN: that checkpoint's redo point, where the WAL part starts |
 * |     73 |     8 | used blocks at the start (the allocator's high-water mark; progress) |
 *
 * Block, kind `B` (one per used block, in block order; 9 + block size bytes):
 *
 * | offset | bytes | field                                                            |
 * |-------:|------:|------------------------------------------------------------------|
 * |      0 |     1 | `B`                                                              |
 * |      1 |     8 | block number                                                     |
 * |      9 |  size | the block exactly as stored, its CRC32C in its first 4 bytes     |
 *
 * WAL record, kind `W` (every record from the start LSN to the end LSN, padding included, in
 * LSN order; 1 + record length bytes): `W`, then the record exactly as stored in the log (its
 * length, CRC32C and LSN are in its own header, see `wal/record.ts`).
 *
 * Trailer, kind `T` (once, last; 37 bytes):
 *
 * | offset | bytes | field                                                            |
 * |-------:|------:|------------------------------------------------------------------|
 * |      0 |     1 | `T`                                                              |
 * |      1 |     8 | block frames sent                                                |
 * |      9 |     8 | WAL record frames sent                                           |
 * |     17 |     8 | end LSN: the log is complete up to here (a sector boundary)      |
 * |     25 |     8 | image block count at the end (replay may need the grown image)   |
 * |     33 |     4 | stream digest (below)                                            |
 *
 * Integers little-endian; 64-bit fields as two 32-bit halves.
 *
 * Invariants:
 * 1. The sender never computes a checksum over block or record bytes: each block and record
 *    carries the CRC32C stored with it when it was written (Cheetah's precomputed checksums).
 *    The receiver verifies every one as it arrives.
 * 2. The stream digest is a CRC32C chained over each frame's identity only — the whole header
 *    frame, the first 13 bytes of each block frame (kind, number, stored CRC), the first 17 bytes
 *    of each WAL frame (kind, then the record's length, CRC and LSN), and the trailer's first 33
 *    bytes. With the per-block and
 *    per-record CRCs it covers every byte, and it catches dropped, repeated or reordered frames,
 *    for about 13 bytes of checksum work per 8 KiB block.
 * 3. A stream without its trailer, or with a trailer whose counts or digest disagree, is
 *    incomplete: nothing built from it may boot.
 */
import { ExoError, SqlState } from "../../lib/errors.ts";
import { crc32c } from "../../io/crc32c.ts";

/** The stream format version this build writes and reads. */
export const backupFormatVersion = 1;
/** The magic after the header's kind byte. */
export const backupMagic = "EXOBKUP1";

/** Frame kinds (one byte each). */
export const FrameKind = {
  header: 0x48, // 'H'
  block: 0x42, // 'B'
  wal: 0x57, // 'W'
  trailer: 0x54, // 'T'
} as const;

export const headerFrameBytes = 81;
export const blockFrameHeaderBytes = 9;
export const trailerFrameBytes = 37;
/** Leading bytes of a block frame covered by the stream digest (kind, number, stored CRC). */
export const blockDigestBytes = 13;
/** Leading bytes of a WAL frame covered by the stream digest (kind, length, CRC, LSN). */
export const walDigestBytes = 17;

/** The backup header. */
export interface BackupHeader {
  blockSizeBytes: number;
  imageBlockCount: number;
  imageExtentBlocks: number;
  logBlockCount: number;
  /** 32 hex digits. */
  imageId: string;
  checkpointLsn: number;
  startLsn: number;
  usedBlocks: number;
}

/** The backup trailer. */
export interface BackupTrailer {
  blockFrames: number;
  walRecords: number;
  endLsn: number;
  imageBlockCount: number;
  digest: number;
}

/** A backup stream or file that cannot be used: names what is wrong (SQLSTATE XX001). */
export class BackupError extends ExoError {
  override name = "BackupError";
  constructor(message: string) {
    super(SqlState.dataCorrupted, message);
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a little-endian u64 stored as two u32 halves. */
export function getU64(bytes: Uint8Array, offset: number): number {
  const v = view(bytes);
  return v.getUint32(offset, true) + v.getUint32(offset + 4, true) * 0x1_0000_0000;
}

/** Writes a little-endian u64 as two u32 halves. */
export function setU64(bytes: Uint8Array, offset: number, value: number): void {
  const v = view(bytes);
  v.setUint32(offset, value >>> 0, true);
  v.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Encodes the header frame. */
export function encodeHeader(header: BackupHeader): Uint8Array {
  const bytes = new Uint8Array(headerFrameBytes);
  bytes[0] = FrameKind.header;
  new TextEncoder().encodeInto(backupMagic, bytes.subarray(1, 9));
  view(bytes).setUint32(9, backupFormatVersion, true);
  view(bytes).setUint32(13, header.blockSizeBytes, true);
  setU64(bytes, 17, header.imageBlockCount);
  setU64(bytes, 25, header.imageExtentBlocks);
  setU64(bytes, 33, header.logBlockCount);
  for (let i = 0; i < 16; i++) bytes[41 + i] = parseInt(header.imageId.slice(2 * i, 2 * i + 2), 16);
  setU64(bytes, 57, header.checkpointLsn);
  setU64(bytes, 65, header.startLsn);
  setU64(bytes, 73, header.usedBlocks);
  return bytes;
}

/** Decodes a header frame, or throws {@link BackupError} saying why it is not one. */
export function decodeHeader(bytes: Uint8Array): BackupHeader {
  if (bytes[0] !== FrameKind.header) throw new BackupError("not an ExoDB backup (no header)");
  const magic = String.fromCharCode(...bytes.subarray(1, 9));
  if (magic !== backupMagic) {
    throw new BackupError(`not an ExoDB backup (magic "${magic}")`);
  }
  const version = view(bytes).getUint32(9, true);
  if (version !== backupFormatVersion) {
    throw new BackupError(
      `backup format version ${version}, this build reads ${backupFormatVersion}`,
    );
  }
  let imageId = "";
  for (let i = 0; i < 16; i++) imageId += bytes[41 + i]!.toString(16).padStart(2, "0");
  return {
    blockSizeBytes: view(bytes).getUint32(13, true),
    imageBlockCount: getU64(bytes, 17),
    imageExtentBlocks: getU64(bytes, 25),
    logBlockCount: getU64(bytes, 33),
    imageId,
    checkpointLsn: getU64(bytes, 57),
    startLsn: getU64(bytes, 65),
    usedBlocks: getU64(bytes, 73),
  };
}

/** Encodes the trailer frame (the digest must already include the trailer's counts). */
export function encodeTrailerBody(trailer: Omit<BackupTrailer, "digest">): Uint8Array {
  const bytes = new Uint8Array(trailerFrameBytes);
  bytes[0] = FrameKind.trailer;
  setU64(bytes, 1, trailer.blockFrames);
  setU64(bytes, 9, trailer.walRecords);
  setU64(bytes, 17, trailer.endLsn);
  setU64(bytes, 25, trailer.imageBlockCount);
  return bytes;
}

/** Decodes a trailer frame. */
export function decodeTrailer(bytes: Uint8Array): BackupTrailer {
  return {
    blockFrames: getU64(bytes, 1),
    walRecords: getU64(bytes, 9),
    endLsn: getU64(bytes, 17),
    imageBlockCount: getU64(bytes, 25),
    digest: view(bytes).getUint32(33, true),
  };
}

/** The chained stream digest of invariant 2; sender and receiver feed it the same bytes. */
export class StreamDigest {
  #crc = 0;

  /** Adds `bytes` (a frame's identity bytes). */
  add(bytes: Uint8Array): void {
    this.#crc = crc32c(bytes, this.#crc);
  }

  /** The digest so far. */
  get value(): number {
    return this.#crc >>> 0;
  }
}
