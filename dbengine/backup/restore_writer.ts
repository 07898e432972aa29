/**
 * Writes a verified backup stream (a {@link BackupSink} behind `BackupReceiver`) onto two empty
 * raw devices: the disk image and the log device of a new data directory. The kernel creates
 * the devices (in a temporary directory) and renames them into place only after
 * {@link RestoreWriter.finish} and a test boot succeeded.
 *
 * What the restored devices hold:
 * 1. The image: every shipped block at its own number, never-written blocks left zero, grown to
 *    the image size at the end of the backup; its superblock rewritten to name the backup's
 *    start checkpoint (a later checkpoint named by the shipped superblock copies cannot be
 *    trusted: blocks copied before it are older than its redo point).
 * 2. The log: a freshly formatted log device of the source's size (so each LSN lands at the same
 *    ring position) holding exactly the shipped records; every other byte is zero, so recovery
 *    ends cleanly at the backup's end LSN.
 */
import { assert } from "../../lib/assert.ts";
import { limits } from "../../lib/limits.ts";
import type { RawDevice } from "../../hw/raw_device.ts";
import { BlockDevice } from "../../hw/block_device.ts";
import { type DiskImage, formatDevice, mountDevice } from "../../io/disk_image.ts";
import type { BackupSink } from "./receiver.ts";
import { BackupError, type BackupHeader, type BackupTrailer } from "./stream.ts";

/** Restores onto an empty image device and an empty log device. */
export class RestoreWriter implements BackupSink {
  readonly #imageRaw: RawDevice;
  readonly #logRaw: RawDevice;
  #header: BackupHeader | undefined;
  #image: BlockDevice | undefined;
  #log: DiskImage | undefined;
  #regionStartBytes = 0;
  #regionBytes = 0;
  /** Contiguous WAL bytes not yet written, starting at #walLsn. */
  #wal = new Uint8Array(1024 * 1024);
  #walLength = 0;
  #walLsn = 0;

  constructor(imageRaw: RawDevice, logRaw: RawDevice) {
    this.#imageRaw = imageRaw;
    this.#logRaw = logRaw;
  }

  header(header: BackupHeader): void {
    const size = header.blockSizeBytes;
    this.#header = header;
    this.#image = new BlockDevice(this.#imageRaw, size);
    this.#image.grow(header.imageBlockCount);
    this.#log = formatDevice(this.#logRaw, {
      role: "log",
      blockSizeBytes: size,
      initialBlocks: header.logBlockCount,
      extentBlocks: header.logBlockCount,
      imageId: header.imageId,
    });
    this.#regionStartBytes = limits.superblockCopiesCount * size;
    this.#regionBytes = header.logBlockCount * size - this.#regionStartBytes;
    this.#walLsn = header.startLsn;
  }

  block(blockNumber: number, bytes: Uint8Array, neverWritten: boolean): void {
    const image = this.#image!;
    if (blockNumber >= image.blockCount()) image.grow(blockNumber + 1);
    if (!neverWritten) image.write(blockNumber, bytes); // a grown device reads back zeros
  }

  record(lsn: number, bytes: Uint8Array): void {
    assert(lsn === this.#walLsn + this.#walLength, "records arrive back to back");
    if (lsn + bytes.length - this.#header!.startLsn > this.#regionBytes) {
      throw new BackupError(
        `backup's WAL (${
          lsn + bytes.length - this.#header!.startLsn
        } bytes) exceeds its log device`,
      );
    }
    if (this.#walLength + bytes.length > this.#wal.length) this.#writeWal();
    if (bytes.length > this.#wal.length) this.#wal = new Uint8Array(bytes.length);
    this.#wal.set(bytes, this.#walLength);
    this.#walLength += bytes.length;
  }

  /** Writes the buffered WAL at its ring position (wrapping at the region's end). */
  #writeWal(): void {
    let done = 0;
    while (done < this.#walLength) {
      const offset = (this.#walLsn + done) % this.#regionBytes;
      const part = Math.min(this.#walLength - done, this.#regionBytes - offset);
      this.#logRaw.write(
        this.#wal.subarray(done, done + part),
        this.#regionStartBytes + offset,
      );
      done += part;
    }
    this.#walLsn += this.#walLength;
    this.#walLength = 0;
  }

  /** After the trailer verified: writes the rest, the superblock, and flushes both devices. */
  finish(trailer: BackupTrailer): void {
    const header = this.#header!;
    this.#writeWal();
    this.#log!.device.flush();
    const image = this.#image!;
    const blockCount = Math.max(image.blockCount(), trailer.imageBlockCount);
    if (blockCount > image.blockCount()) image.grow(blockCount);
    image.flush();
    const mounted = mountDevice(this.#imageRaw, {
      role: "image",
      blockSizeBytes: header.blockSizeBytes,
      imageId: header.imageId,
    });
    mounted.writeSuperblock({ blockCount, checkpointLsn: header.checkpointLsn });
  }

  /** Closes both devices (after finish, or to abandon a restore). */
  close(): void {
    for (const raw of [this.#imageRaw, this.#logRaw]) {
      try {
        raw.close();
      } catch {
        // Already closed.
      }
    }
  }
}
