/**
 * The receiving side of a backup stream (format in `stream.ts`): parses frames from chunks
 * split anywhere, and verifies each one as it arrives, before handing it on.
 *
 * Checks, each failure a {@link BackupError} naming the block or LSN:
 * 1. Header first and once; blocks next, numbered 0, 1, 2, … with no gap or repeat.
 * 2. Every block passes `verifyBlock` against its stored CRC32C, its own block number and the
 *    image tag. An all-zero block above the superblocks is accepted as never written (a block
 *    allocated after the start checkpoint and not yet written out; the log holds its image).
 * 3. WAL records follow the blocks: the first at the start LSN, each at the end of the one
 *    before, each with a valid CRC32C, its own LSN and the right back-link. The checkpoint
 *    record the header names must be among them.
 * 4. The trailer's counts, end LSN and stream digest must match what arrived; nothing may
 *    follow it. Until {@link BackupReceiver.finish} has accepted the trailer, the backup is
 *    incomplete.
 */
import { limits } from "../../lib/limits.ts";
import { CorruptBlockError, verifyBlock } from "../../io/block.ts";
import { imageTagOf } from "../../io/superblock.ts";
import { decodeRecord, recordBytesMax, recordHeaderBytes, RecordType } from "../wal/record.ts";
import {
  BackupError,
  type BackupHeader,
  type BackupTrailer,
  blockDigestBytes,
  blockFrameHeaderBytes,
  decodeHeader,
  decodeTrailer,
  FrameKind,
  getU64,
  headerFrameBytes,
  StreamDigest,
  trailerFrameBytes,
  walDigestBytes,
} from "./stream.ts";

/** Where verified frames go (views valid only during the call). */
export interface BackupSink {
  header?(header: BackupHeader): void;
  block?(blockNumber: number, bytes: Uint8Array, neverWritten: boolean): void;
  record?(lsn: number, bytes: Uint8Array): void;
  trailer?(trailer: BackupTrailer): void;
}

/** Counters of what has been verified so far (progress). */
export interface ReceiveProgress {
  bytes: number;
  blocks: number;
  neverWrittenBlocks: number;
  walRecords: number;
  walBytes: number;
}

/** Parses and verifies a backup stream pushed to it in chunks. */
export class BackupReceiver {
  readonly #sink: BackupSink;
  #buffer = new Uint8Array(1024 * 1024);
  #start = 0;
  #end = 0;
  #header: BackupHeader | undefined;
  #imageTag = 0;
  #trailer: BackupTrailer | undefined;
  #digest = new StreamDigest();
  #nextLsn = 0;
  #prevLsn: number | undefined;
  #sawCheckpoint = false;
  readonly progress: ReceiveProgress = {
    bytes: 0,
    blocks: 0,
    neverWrittenBlocks: 0,
    walRecords: 0,
    walBytes: 0,
  };

  constructor(sink: BackupSink = {}) {
    this.#sink = sink;
  }

  /** The header, once it has arrived. */
  get header(): BackupHeader | undefined {
    return this.#header;
  }

  /** Adds `chunk` and verifies every whole frame now available. */
  push(chunk: Uint8Array): void {
    this.progress.bytes += chunk.length;
    this.#append(chunk);
    for (;;) {
      const available = this.#end - this.#start;
      if (available === 0) return;
      const size = this.#frameSize(this.#buffer.subarray(this.#start, this.#end));
      if (size === undefined || size > available) return;
      this.#frame(this.#buffer.subarray(this.#start, this.#start + size));
      this.#start += size;
    }
  }

  /** Ends the stream: throws unless a valid trailer arrived and nothing followed it. */
  finish(): { header: BackupHeader; trailer: BackupTrailer } {
    if (this.#end > this.#start && this.#trailer === undefined) {
      throw new BackupError(
        `backup is incomplete: it ends inside a frame after ${this.progress.bytes} bytes`,
      );
    }
    if (this.#header === undefined) throw new BackupError("backup is empty (no header)");
    if (this.#trailer === undefined) {
      throw new BackupError(
        `backup is incomplete: no trailer after ${this.progress.blocks} blocks and ${this.progress.walRecords} WAL records (interrupted?)`,
      );
    }
    return { header: this.#header, trailer: this.#trailer };
  }

  #append(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buffer.length) {
      const kept = this.#end - this.#start;
      if (kept + chunk.length <= this.#buffer.length) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(this.#buffer.length * 2, kept + chunk.length));
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = kept;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** The size of the frame starting at `bytes[0]`, or undefined while too little has arrived. */
  #frameSize(bytes: Uint8Array): number | undefined {
    if (this.#trailer !== undefined) {
      throw new BackupError("backup has bytes after its trailer");
    }
    const kind = bytes[0];
    if (this.#header === undefined) {
      if (kind !== FrameKind.header) {
        throw new BackupError("not an ExoDB backup (it does not start with a header)");
      }
      return headerFrameBytes;
    }
    switch (kind) {
      case FrameKind.block:
        return blockFrameHeaderBytes + this.#header.blockSizeBytes;
      case FrameKind.wal: {
        if (bytes.length < 5) return undefined;
        const length = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0, true);
        if (length < recordHeaderBytes || length > recordBytesMax) {
          throw new BackupError(`WAL record at LSN ${this.#nextLsn} has a bad length ${length}`);
        }
        return 1 + length;
      }
      case FrameKind.trailer:
        return trailerFrameBytes;
      default:
        throw new BackupError(
          `backup is damaged: unknown frame kind 0x${
            (kind ?? 0).toString(16)
          } after ${this.progress.blocks} blocks and ${this.progress.walRecords} WAL records`,
        );
    }
  }

  #frame(frame: Uint8Array): void {
    const kind = frame[0];
    if (this.#header === undefined) {
      const header = decodeHeader(frame);
      const size = header.blockSizeBytes;
      if (size < limits.blockSizeBytesMin || size > limits.blockSizeBytesMax) {
        throw new BackupError(`backup header names a block size of ${size} bytes`);
      }
      this.#header = header;
      this.#imageTag = imageTagOf(header.imageId);
      this.#nextLsn = header.startLsn;
      this.#digest.add(frame);
      this.#sink.header?.(header);
      return;
    }
    if (kind === FrameKind.block) this.#block(frame);
    else if (kind === FrameKind.wal) this.#record(frame);
    else this.#trailerFrame(frame);
  }

  #block(frame: Uint8Array): void {
    const blockNumber = getU64(frame, 1);
    const expected = this.progress.blocks;
    if (this.progress.walRecords > 0) {
      throw new BackupError(`backup is damaged: block ${blockNumber} after the WAL records`);
    }
    if (blockNumber !== expected) {
      throw new BackupError(
        `backup is damaged: block ${blockNumber} arrived where block ${expected} was due`,
      );
    }
    const bytes = frame.subarray(blockFrameHeaderBytes);
    let neverWritten = false;
    try {
      verifyBlock(bytes, "the backed-up image", blockNumber, this.#imageTag);
    } catch (error) {
      if (!(error instanceof CorruptBlockError)) throw error;
      if (error.reason === "zeroed" && blockNumber >= limits.superblockCopiesCount) {
        neverWritten = true;
      } else {
        throw new BackupError(
          `block ${blockNumber} failed verification (${error.reason}): ${error.message}`,
        );
      }
    }
    this.#digest.add(frame.subarray(0, blockDigestBytes));
    this.progress.blocks++;
    if (neverWritten) this.progress.neverWrittenBlocks++;
    this.#sink.block?.(blockNumber, bytes, neverWritten);
  }

  #record(frame: Uint8Array): void {
    const bytes = frame.subarray(1);
    const lsn = this.#nextLsn;
    const record = decodeRecord(bytes, lsn, this.#prevLsn);
    if (typeof record === "string") {
      throw new BackupError(`WAL record at LSN ${lsn} failed verification: ${record}`);
    }
    if (lsn === this.#header!.checkpointLsn) {
      if (record.type !== RecordType.checkpoint) {
        throw new BackupError(`WAL record at LSN ${lsn} should be the start checkpoint`);
      }
      this.#sawCheckpoint = true;
    }
    this.#digest.add(frame.subarray(0, walDigestBytes));
    this.#prevLsn = lsn;
    this.#nextLsn = lsn + bytes.length;
    this.progress.walRecords++;
    this.progress.walBytes += bytes.length;
    this.#sink.record?.(lsn, bytes);
  }

  #trailerFrame(frame: Uint8Array): void {
    const trailer = decodeTrailer(frame);
    this.#digest.add(frame.subarray(0, trailerFrameBytes - 4));
    const problems: string[] = [];
    if (trailer.blockFrames !== this.progress.blocks) {
      problems.push(`${this.progress.blocks} blocks arrived, ${trailer.blockFrames} were sent`);
    }
    if (trailer.walRecords !== this.progress.walRecords) {
      problems.push(
        `${this.progress.walRecords} WAL records arrived, ${trailer.walRecords} were sent`,
      );
    }
    if (trailer.endLsn !== this.#nextLsn) {
      problems.push(`the WAL ends at LSN ${this.#nextLsn}, the trailer says ${trailer.endLsn}`);
    }
    if (!this.#sawCheckpoint) {
      problems.push(`the start checkpoint at LSN ${this.#header!.checkpointLsn} is missing`);
    }
    if (trailer.digest !== this.#digest.value) {
      problems.push(
        `stream digest ${hex(this.#digest.value)} does not match the trailer's ${
          hex(trailer.digest)
        }`,
      );
    }
    if (problems.length > 0) throw new BackupError(`backup is damaged: ${problems.join("; ")}`);
    this.#trailer = trailer;
    this.#sink.trailer?.(trailer);
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
