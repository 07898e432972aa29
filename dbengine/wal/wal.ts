/**
 * The write-ahead log on the log device: appending, group commit, and reading back.
 *
 * The region after the log device's superblock copies is a ring of bytes; LSN n lives at
 * regionStart + (n mod regionBytes). Space before `recycleLsn` (the redo point of the last
 * checkpoint) may be overwritten.
 *
 * Invariants:
 * 1. Appends are in-memory and synchronous; durability comes from `flush`/`flushSync`.
 * 2. Every flush writes whole sectors from a sector boundary and ends with a padding record on
 *    the next boundary, then one zeroed sector (the end marker, overwritten by the next flush):
 *    a sector holding durable records is never rewritten, and the stream is valid records with
 *    no gaps (a zero length always means the end, also after the log has wrapped).
 * 3. Flushes are strictly sequential: chunk k+1 is written only after chunk k's sync returned.
 *    So on disk a valid record after an invalid one means real corruption of durable data.
 * 4. Group commit: every commit waiting when a flush starts, and every one arriving while it
 *    runs, shares one sync (the next one).
 * 5. After a failed sync the log is failed for good: every later append or flush throws, and
 *    the engine must restart and recover (a failed fsync is never retried and trusted).
 */
import { assert } from "../../lib/assert.ts";
import { DeviceError, ExoError } from "../../lib/errors.ts";
import { limits } from "../../lib/limits.ts";
import { crashPoint } from "../../lib/crash_hooks.ts";
import type { BlockDevice } from "../../hw/block_device.ts";
import {
  decodeRecord,
  encodeRecordHeader,
  logSectorBytes,
  recordBytesMax,
  recordHeaderBytes,
  recordLength,
  RecordType,
  sealRecords,
  type WalRecord,
} from "./record.ts";

/** The first LSN of a fresh log (0 means "no record"). */
export const firstLsn = logSectorBytes;

/** Raised when the log is out of space or failed; the statement fails, the engine stays up. */
export class WalError extends ExoError {
  override name = "WalError";
}

interface Waiter {
  lsn: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function alignUp(n: number): number {
  return Math.ceil(n / logSectorBytes) * logSectorBytes;
}

/** Where the log continues after recovery. */
export interface WalPosition {
  /** Next LSN to write (sector aligned). */
  insertLsn: number;
  /** LSN of the last valid record (the back-link of the next one); 0 when none. */
  lastLsn: number;
  /** Oldest LSN still needed (the last checkpoint's redo point). */
  recycleLsn: number;
}

/** The result of scanning the log from some LSN to its end. */
export interface ScanEnd {
  /** Where the first invalid record (or the clean end) is. */
  endLsn: number;
  /** LSN of the last valid record seen (0 when none). */
  lastLsn: number;
  /** Why the scan stopped there. */
  reason: string;
}

export class Wal {
  readonly device: BlockDevice;
  readonly regionStartBytes: number;
  readonly regionBytes: number;
  #insertLsn: number;
  #lastLsn: number;
  #flushedLsn: number;
  #recycleLsn: number;
  /** Unflushed bytes from #bufferLsn (sector aligned) to #insertLsn. */
  #buffer = new Uint8Array(64 * 1024);
  /**
   * The other half of a double buffer for devices that write and sync in one asynchronous
   * request: while such a request is in flight its chunk stays in this buffer, untouched
   * (the device reads it off the calling thread), and appends go to #buffer.
   */
  #spare = new Uint8Array(64 * 1024);
  #bufferLsn: number;
  #waiters: Waiter[] = [];
  /** True while #flushLoop runs; set and cleared synchronously with the waiter checks. */
  #flushing = false;
  /** End of the chunk whose sync is in flight (written, maybe not yet durable). */
  #inFlightEnd = 0;
  #failed: unknown = undefined;
  /** Recycling holds (an online backup's start LSN): space at or after the lowest is kept. */
  readonly #recycleHolds = new Set<{ lsn: number }>();
  /** The recycle point the last checkpoint asked for while a hold kept it lower. */
  #recycleWanted = 0;
  /**
   * Group commit (invariant 4). Off (the conventional profile), every commit waits for a sync of
   * its own: one sync releases one waiter, even when it made later waiters durable too.
   */
  groupCommit = true;
  /**
   * Whether a flush hands write and sync over as one request where the device offers it
   * (`writeAndFlushAsync`); off, it writes here and then syncs asynchronously. For measuring.
   */
  linkedFlush = true;
  /** Figures for stats views and benchmarks. */
  readonly stats = { appends: 0, appendedBytes: 0, flushes: 0, syncs: 0, groupedCommits: 0 };

  constructor(device: BlockDevice, position: WalPosition) {
    assert(position.insertLsn % logSectorBytes === 0, "the log continues on a sector boundary");
    this.device = device;
    this.regionStartBytes = limits.superblockCopiesCount * device.blockSizeBytes;
    this.regionBytes = device.blockCount() * device.blockSizeBytes - this.regionStartBytes;
    assert(this.regionBytes >= 8 * recordBytesMax, "log device too small");
    this.#insertLsn = position.insertLsn;
    this.#lastLsn = position.lastLsn;
    this.#flushedLsn = position.insertLsn;
    this.#recycleLsn = position.recycleLsn;
    this.#bufferLsn = position.insertLsn;
  }

  /** Next LSN to be assigned. */
  get insertLsn(): number {
    return this.#insertLsn;
  }
  /** Everything below this LSN is durable. */
  get flushedLsn(): number {
    return this.#flushedLsn;
  }
  /** LSN of the last appended record. */
  get lastLsn(): number {
    return this.#lastLsn;
  }
  /** The oldest LSN recovery may need (the last checkpoint's redo point). */
  get recycleLsn(): number {
    return this.#recycleLsn;
  }

  /** True once a flush has failed (the log is read-only until a restart). */
  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** Throws the log's failure (58030) if a flush has failed; the log is then read-only for good. */
  checkHealthy(): void {
    this.#checkHealthy();
  }

  /** Commits waiting for a flush, and whether a flush is running (for stats views). */
  get flushState(): { waiting: number; flushing: boolean; inFlightEnd: number } {
    return {
      waiting: this.#waiters.length,
      flushing: this.#flushing,
      inFlightEnd: this.#inFlightEnd,
    };
  }

  /** Bytes of log space not yet holding needed records. */
  freeBytes(): number {
    return this.regionBytes - (this.#insertLsn - this.#recycleLsn);
  }
  /** Fraction of the region in use, 0..1. */
  usedFraction(): number {
    return (this.#insertLsn - this.#recycleLsn) / this.regionBytes;
  }

  /** Allows space below `lsn` to be reused (after a checkpoint made it unnecessary). */
  recycleTo(lsn: number): void {
    assert(lsn <= this.#flushedLsn, "recycle only what is durable");
    if (lsn > this.#recycleWanted) this.#recycleWanted = lsn;
    // A hold keeps its range readable: recycling stops at the lowest held LSN.
    let target = lsn;
    for (const hold of this.#recycleHolds) target = Math.min(target, hold.lsn);
    if (target > this.#recycleLsn) this.#recycleLsn = target;
  }

  /**
   * Keeps every record from `lsn` on from being overwritten until the returned release is
   * called (an online backup ships them afterwards). `lsn` must not be recycled already. While
   * held, the log can fill up: appends then fail with 53100 until the hold is released.
   */
  holdRecycling(lsn: number): () => void {
    assert(lsn >= this.#recycleLsn, "hold only log space that is still kept");
    const hold = { lsn };
    this.#recycleHolds.add(hold);
    return () => {
      if (!this.#recycleHolds.delete(hold)) return;
      this.recycleTo(Math.min(this.#recycleWanted, this.#flushedLsn));
    };
  }

  /** Appends one record; returns its LSN. Not durable until flushed. */
  append(type: number, flags: number, txn: number, payload: Uint8Array): number {
    return this.appendWith(type, flags, txn, payload.length, (target) => target.set(payload));
  }

  /**
   * Appends a record whose `payloadBytes`-byte payload `fill` writes straight into the log
   * buffer (a page image is copied once, from the page, with no payload array between).
   */
  appendWith(
    type: number,
    flags: number,
    txn: number,
    payloadBytes: number,
    fill: (target: Uint8Array) => void,
  ): number {
    this.#checkHealthy();
    const length = recordHeaderBytes + payloadBytes;
    assert(length <= recordBytesMax, `WAL record of ${length} bytes`);
    if (length + logSectorBytes > this.freeBytes()) {
      throw new WalError("53100", "WAL is full: a checkpoint must recycle log space first");
    }
    const lsn = this.#insertLsn;
    const offset = lsn - this.#bufferLsn;
    this.#ensureBuffer(offset + length);
    // Sealed (CRC32C stored) when its flush writes it: #writePending seals the whole chunk.
    const record = this.#buffer.subarray(offset, offset + length);
    encodeRecordHeader(record, { lsn, prevLsn: this.#lastLsn, type, flags, txn });
    fill(record.subarray(recordHeaderBytes));
    this.#lastLsn = lsn;
    this.#insertLsn = lsn + length;
    this.stats.appends++;
    this.stats.appendedBytes += length;
    return lsn;
  }

  /** Resolves once every record below `lsn` (default: all appended) is durable. */
  flush(lsn = this.#insertLsn): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failedError());
    if (lsn <= this.#flushedLsn) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ lsn, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        void this.#flushLoop();
      }
    });
  }

  /** Makes every record below `lsn` durable now, blocking (buffer-pool eviction's WAL rule). */
  flushSync(lsn = this.#insertLsn): void {
    this.#checkHealthy();
    if (lsn <= this.#flushedLsn) return;
    try {
      if (this.#inFlightEnd > this.#flushedLsn) {
        // Rule 3: the chunk whose async sync is pending must be durable before the next write.
        this.device.flush();
        this.stats.syncs++;
        this.#flushedLsn = this.#inFlightEnd;
        if (lsn <= this.#flushedLsn) return;
      }
      const end = this.#writePending();
      this.device.flush();
      this.stats.syncs++;
      this.#flushedLsn = end;
    } catch (error) {
      this.#fail(error);
      throw this.#failedError();
    }
  }

  async #flushLoop(): Promise<void> {
    // The exit test and clearing #flushing happen in one synchronous step, so a waiter added
    // by a just-resolved commit either is seen here or starts a new loop.
    // Every iteration releases the waiters it made durable (all of them with group commit, the
    // oldest one without), so a waiter left over always needs another sync.
    while (this.#waiters.length > 0) {
      let end: number;
      try {
        if (this.linkedFlush && this.device.raw.writeAndFlushAsync !== undefined) {
          end = await this.#writeAndSyncPending();
        } else {
          end = this.#writePending();
          this.#inFlightEnd = end;
          this.stats.flushes++;
          crashPoint("wal-sync");
          await this.device.flushAsync();
        }
        this.stats.syncs++;
      } catch (error) {
        this.#fail(error);
        const failure = this.#failedError();
        for (const waiter of this.#waiters.splice(0)) waiter.reject(failure);
        this.#flushing = false;
        return;
      }
      if (end > this.#flushedLsn) this.#flushedLsn = end;
      const durable = this.#waiters.filter((w) => w.lsn <= this.#flushedLsn);
      const done = this.groupCommit ? durable : durable.slice(0, 1);
      this.#waiters = this.#waiters.filter((w) => !done.includes(w));
      this.stats.groupedCommits += done.length;
      for (const waiter of done) waiter.resolve();
    }
    this.#flushing = false;
  }

  /**
   * The asynchronous flush on a device that writes and syncs in one request (the I/O worker):
   * the chunk is sealed and handed over whole, the buffers swap so appends continue meanwhile,
   * and the chunk's buffer is left alone until the request settles. Returns the durable end.
   */
  async #writeAndSyncPending(): Promise<number> {
    const chunk = this.#sealPending();
    if (chunk === undefined) return this.#insertLsn;
    const { end, bytes } = chunk;
    crashPoint("wal-write");
    const offset = this.#bufferLsn % this.regionBytes;
    const first = Math.min(bytes.length, this.regionBytes - offset);
    // Swap: the chunk's buffer becomes the spare, and stays unchanged until the request ends.
    const inFlight = this.#buffer;
    this.#buffer = this.#spare;
    this.#spare = inFlight;
    this.#bufferLsn = end;
    this.#inFlightEnd = end;
    this.stats.flushes++;
    if (first < bytes.length) {
      // Wrapped: the tail goes first as a plain write, the head with the sync (same ring order).
      this.device.raw.write(bytes.subarray(first), this.regionStartBytes);
    }
    const durable = this.device.raw.writeAndFlushAsync!(
      bytes.subarray(0, first),
      this.regionStartBytes + offset,
    );
    crashPoint("wal-sync"); // submitted: the write may be done, half done or not begun
    await durable;
    return end;
  }

  /** Pads to a sector boundary with a padding record and writes every unflushed byte. */
  #writePending(): number {
    const chunk = this.#sealPending();
    if (chunk === undefined) return this.#insertLsn;
    crashPoint("wal-write");
    this.#writeRing(this.#bufferLsn, chunk.bytes);
    this.#bufferLsn = chunk.end;
    return chunk.end;
  }

  /**
   * Pads the unflushed records to a sector boundary, seals them, and returns them followed by
   * one zeroed sector (`bytes`, a view of #buffer) with the LSN they end at; undefined when
   * nothing is unflushed.
   */
  #sealPending(): { end: number; bytes: Uint8Array } | undefined {
    let pad = alignUp(this.#insertLsn) - this.#insertLsn;
    if (pad > 0 && pad < recordHeaderBytes) pad += logSectorBytes; // a record needs its header
    if (pad > 0) {
      this.appendWith(RecordType.padding, 0, 0, pad - recordHeaderBytes, (t) => t.fill(0));
    }
    const end = this.#insertLsn;
    assert(end % logSectorBytes === 0, "flushes end on a sector boundary");
    const length = end - this.#bufferLsn;
    if (length === 0) return undefined;
    // One zeroed sector after the chunk marks the log's end: once the log has wrapped, the
    // space after the last flush holds an older lap's bytes, which recovery would otherwise
    // report as a torn write after every clean stop. The next flush overwrites it (it holds no
    // records); it is free space, since every append keeps a sector free (append's check).
    // Invariant: #buffer[0, length) holds whole records, unsealed since #bufferLsn moved past
    // the last chunk, so every record is sealed exactly once, just before it is written.
    sealRecords(this.#buffer.subarray(0, length));
    this.#ensureBuffer(length + logSectorBytes);
    this.#buffer.fill(0, length, length + logSectorBytes);
    return { end, bytes: this.#buffer.subarray(0, length + logSectorBytes) };
  }

  #writeRing(lsn: number, bytes: Uint8Array): void {
    const offset = lsn % this.regionBytes;
    const first = Math.min(bytes.length, this.regionBytes - offset);
    this.device.raw.write(bytes.subarray(0, first), this.regionStartBytes + offset);
    if (first < bytes.length) this.device.raw.write(bytes.subarray(first), this.regionStartBytes);
  }

  #ensureBuffer(length: number): void {
    if (length <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(length, this.#buffer.length * 2));
    grown.set(this.#buffer.subarray(0, this.#insertLsn - this.#bufferLsn));
    this.#buffer = grown;
  }

  #fail(error: unknown): void {
    this.#failed ??= error;
  }

  #failedError(): WalError {
    const cause = this.#failed;
    const code = cause instanceof DeviceError ? cause.code : "EIO";
    return new WalError(
      "58030",
      `WAL flush failed (${code}); the log is read-only until ExoDB restarts and recovers`,
      { cause },
    );
  }

  #checkHealthy(): void {
    if (this.#failed !== undefined) throw this.#failedError();
  }
}

/** Reads the log region of `device` sequentially. */
export class WalReader {
  readonly device: BlockDevice;
  readonly regionStartBytes: number;
  readonly regionBytes: number;
  #chunk: Uint8Array = new Uint8Array(0);
  #chunkLsn = -1;
  static readonly chunkBytes = 1024 * 1024;

  constructor(device: BlockDevice) {
    this.device = device;
    this.regionStartBytes = limits.superblockCopiesCount * device.blockSizeBytes;
    this.regionBytes = device.blockCount() * device.blockSizeBytes - this.regionStartBytes;
  }

  /** `length` bytes of the stream at `lsn` (a copy when it spans chunks or wraps). */
  read(lsn: number, length: number): Uint8Array {
    const chunkBytes = WalReader.chunkBytes;
    if (
      this.#chunkLsn >= 0 && lsn >= this.#chunkLsn &&
      lsn + length <= this.#chunkLsn + this.#chunk.length
    ) {
      return this.#chunk.subarray(lsn - this.#chunkLsn, lsn - this.#chunkLsn + length);
    }
    if (length <= chunkBytes / 2) {
      const start = Math.floor(lsn / logSectorBytes) * logSectorBytes;
      this.#chunk = this.#readRing(start, chunkBytes);
      this.#chunkLsn = start;
      return this.#chunk.subarray(lsn - start, lsn - start + length);
    }
    return this.#readRing(lsn, length);
  }

  #readRing(lsn: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const offset = (lsn + done) % this.regionBytes;
      const part = Math.min(length - done, this.regionBytes - offset);
      this.device.raw.read(out.subarray(done, done + part), this.regionStartBytes + offset);
      done += part;
    }
    return out;
  }

  /** The record at `lsn`, or why there is none (prevLsn unchecked when undefined). */
  recordAt(lsn: number, prevLsn: number | undefined): WalRecord | string {
    const header = this.read(lsn, recordHeaderBytes);
    const length = recordLength(header);
    if (length < recordHeaderBytes || length > recordBytesMax) return `bad length ${length}`;
    return decodeRecord(this.read(lsn, length), lsn, prevLsn);
  }

  /**
   * Calls `visit` for every valid record from `fromLsn` on (whose back-link must be
   * `prevLsn`), skipping sector padding, and stops at the first invalid one.
   */
  scan(fromLsn: number, prevLsn: number, visit: (record: WalRecord) => void): ScanEnd {
    let lsn = fromLsn;
    let last = prevLsn;
    for (let guard = 0; guard < this.regionBytes; guard++) {
      const header = this.read(lsn, recordHeaderBytes);
      const length = recordLength(header);
      if (length === 0) return { endLsn: lsn, lastLsn: last, reason: "zeroed" };
      const record = this.recordAt(lsn, last === 0 ? undefined : last);
      if (typeof record === "string") return { endLsn: lsn, lastLsn: last, reason: record };
      if (record.type !== RecordType.padding) visit(record);
      last = lsn;
      lsn += record.length;
    }
    return { endLsn: lsn, lastLsn: last, reason: "region exhausted" };
  }

  /**
   * The LSN of a valid record that starts on a sector boundary after `afterLsn` within one lap
   * of the ring, or undefined. Used to tell a torn tail (nothing valid after) from corruption
   * in the middle of durable log (valid records after).
   */
  findValidAfter(afterLsn: number): number | undefined {
    const start = alignUp(afterLsn + 1);
    for (let lsn = start; lsn < afterLsn + this.regionBytes; lsn += logSectorBytes) {
      const header = this.read(lsn, recordHeaderBytes);
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
      // Cheap filter first: the LSN field must name this very position.
      const recorded = view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000;
      if (recorded !== lsn) continue;
      if (typeof this.recordAt(lsn, undefined) !== "string") return lsn;
    }
    return undefined;
  }
}
