/**
 * The sending side of an online backup: a stream of frames (format in `stream.ts`) produced
 * while the engine keeps serving writes.
 *
 * 1. Begin: a checkpoint, then log recycling held from its redo point (the start LSN).
 * 2. Blocks: every used block (below the allocator's high-water mark, re-read as the copy
 *    goes, so blocks allocated meanwhile are included) is read from the device in batches, as
 *    stored, straight into the frame buffer — its stored CRC32C goes out untouched, nothing is
 *    computed over its bytes. The copy is fuzzy: a block may be older or newer than others; the
 *    log repairs that (every first change after the start LSN logged a full-page image).
 * 3. WAL: the log is flushed, and every record from the start LSN to the flushed end is sent
 *    as stored (only its length field is read, to find the next record).
 * 4. Trailer: counts, end LSN, final image size, and the stream digest.
 * 5. The hold is released when the stream ends for any reason (the consumer's `return` on a
 *    dropped connection runs the `finally`).
 *
 * Torn reads: the image is read and written only by synchronous calls on the one kernel
 * thread, so a read never sees half of a write; a stored CRC that does not match is damage at
 * rest, and the receiver names the block. No re-read is needed.
 */
import { limits } from "../../lib/limits.ts";
import { yieldPoint } from "../../lib/yield.ts";
import type { BlockDevice } from "../../hw/block_device.ts";
import { crc32c } from "../../io/crc32c.ts";
import type { BufferPool } from "../../io/buffer_pool.ts";
import type { Storage } from "../storage.ts";
import { recordBytesMax, recordHeaderBytes, recordLength } from "../wal/record.ts";
import { WalReader } from "../wal/wal.ts";
import {
  BackupError,
  blockDigestBytes,
  blockFrameHeaderBytes,
  encodeHeader,
  encodeTrailerBody,
  FrameKind,
  setU64,
  StreamDigest,
  walDigestBytes,
} from "./stream.ts";

/** Options for {@link backupStream}. */
export interface BackupSendOptions {
  /**
   * Recompute every block's and record's CRC32C on the way out instead of sending the stored
   * one (a conventional sender; the benchmark's baseline). It also hides damage at rest: a
   * recomputed checksum matches whatever bytes were read.
   */
  recomputeChecksums?: boolean;
  /** Blocks per read and per chunk (default `limits.ioBatchBlocksMax`). */
  batchBlocks?: number;
  /** WAL bytes per chunk (default 512 KiB). */
  walChunkBytes?: number;
}

/** What a finished stream sent, for logs. */
export interface BackupSendReport {
  blockFrames: number;
  walRecords: number;
  startLsn: number;
  endLsn: number;
}

/**
 * Set once batched reads were refused: `preadv` needs `Deno.UnsafePointer.of`, which Deno 2.9
 * allows only under an unscoped `--allow-ffi`, and the launched kernel has a path-scoped one.
 */
let batchedReadsRefused = false;

function readInto(device: BlockDevice, first: number, targets: Uint8Array[]): void {
  if (!batchedReadsRefused) {
    try {
      device.readRun(first, targets); // one batched read
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
      batchedReadsRefused = true;
    }
  }
  for (let i = 0; i < targets.length; i++) device.read(first + i, targets[i]!);
}

/**
 * The block-shipping core: frames for blocks [first, first + count) of the image, built in
 * `into` when it is large enough (no allocation per batch), else in a new buffer.
 */
export function blockFrames(
  storage: Pick<Storage, "image"> & { pool: Pick<BufferPool, "stagedCopy"> },
  first: number,
  count: number,
  digest: StreamDigest,
  recompute: boolean,
  into?: Uint8Array,
): Uint8Array {
  const device = storage.image.device;
  const frameBytes = blockFrameHeaderBytes + device.blockSizeBytes;
  const chunk = into !== undefined && into.length >= count * frameBytes
    ? into.subarray(0, count * frameBytes)
    : new Uint8Array(count * frameBytes);
  const targets: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * frameBytes;
    chunk[at] = FrameKind.block;
    setU64(chunk, at + 1, first + i);
    targets.push(chunk.subarray(at + blockFrameHeaderBytes, at + frameBytes));
  }
  readInto(device, first, targets); // straight into the frames, no copy
  for (let i = 0; i < count; i++) {
    const at = i * frameBytes;
    // A checkpoint's write of the block may be in flight (the read may be torn): ship the
    // bytes being written instead (buffer-pool rule 5).
    const staged = storage.pool.stagedCopy(first + i);
    if (staged !== undefined) targets[i]!.set(staged);
    if (recompute) {
      const block = targets[i]!;
      new DataView(block.buffer, block.byteOffset, 4).setUint32(0, crc32c(block.subarray(4)), true);
    }
    digest.add(chunk.subarray(at, at + blockDigestBytes));
  }
  return chunk;
}

/**
 * The backup stream of `storage`, as chunks of whole frames. A chunk is valid only until the
 * next one is pulled (block chunks reuse one buffer): consume or copy it first. The engine
 * serves other sessions between chunks.
 */
export async function* backupStream(
  storage: Storage,
  options: BackupSendOptions = {},
  report?: BackupSendReport,
): AsyncGenerator<Uint8Array> {
  const recompute = options.recomputeChecksums ?? false;
  const batch = options.batchBlocks ?? limits.ioBatchBlocksMax;
  const begun = await storage.beginBackup();
  try {
    const image = storage.image;
    const superblock = image.superblock;
    const digest = new StreamDigest();
    const header = encodeHeader({
      blockSizeBytes: image.device.blockSizeBytes,
      imageBlockCount: image.blockCount,
      imageExtentBlocks: superblock.extentBlocks,
      logBlockCount: storage.log.blockCount,
      imageId: superblock.imageId,
      checkpointLsn: begun.checkpointLsn,
      startLsn: begun.redoLsn,
      usedBlocks: storage.store.meta("highWater"),
    });
    digest.add(header);
    yield header;

    let blocksSent = 0;
    const reused = new Uint8Array(batch * (blockFrameHeaderBytes + image.device.blockSizeBytes));
    for (;;) {
      // Re-read each time: blocks allocated during the copy are shipped too.
      const used = Math.min(storage.store.meta("highWater"), image.blockCount);
      if (blocksSent >= used) break;
      const count = Math.min(batch, used - blocksSent);
      yield blockFrames(storage, blocksSent, count, digest, recompute, reused);
      blocksSent += count;
      await yieldPoint(); // other sessions' statements and socket reads run between batches
    }

    await storage.wal.flush();
    const endLsn = storage.wal.flushedLsn; // flushes end on sector boundaries
    const reader = new WalReader(storage.log.device);
    const chunkBytes = options.walChunkBytes ?? 512 * 1024;
    let records = 0;
    let lsn = begun.redoLsn;
    while (lsn < endLsn) {
      const parts: Uint8Array[] = [];
      let size = 0;
      while (lsn < endLsn && size < chunkBytes) {
        const length = recordLength(reader.read(lsn, recordHeaderBytes));
        if (length < recordHeaderBytes || length > recordBytesMax || lsn + length > endLsn) {
          throw new BackupError(
            `WAL record at LSN ${lsn} of ${storage.log.device.name} has a bad length ${length}`,
          );
        }
        parts.push(reader.read(lsn, length).slice());
        size += 1 + length;
        lsn += length;
      }
      const chunk = new Uint8Array(size);
      let at = 0;
      for (const record of parts) {
        chunk[at] = FrameKind.wal;
        chunk.set(record, at + 1);
        if (recompute) {
          const crc = crc32c(record.subarray(8));
          new DataView(chunk.buffer, at + 1 + 4, 4).setUint32(0, crc, true);
        }
        digest.add(chunk.subarray(at, at + walDigestBytes));
        at += 1 + record.length;
      }
      records += parts.length;
      yield chunk;
      await yieldPoint();
    }

    const trailer = encodeTrailerBody({
      blockFrames: blocksSent,
      walRecords: records,
      endLsn,
      imageBlockCount: image.blockCount,
    });
    digest.add(trailer.subarray(0, trailer.length - 4));
    new DataView(trailer.buffer).setUint32(trailer.length - 4, digest.value, true);
    if (report !== undefined) {
      Object.assign(report, {
        blockFrames: blocksSent,
        walRecords: records,
        startLsn: begun.redoLsn,
        endLsn,
      });
    }
    yield trailer;
  } finally {
    begun.release();
  }
}
