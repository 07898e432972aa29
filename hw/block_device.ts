/**
 * The block device: a raw device seen as numbered blocks of one fixed size. Everything above
 * `hw/` reads and writes storage only through this (the smgr/VFS seam): block numbers in, whole
 * blocks out, never byte offsets.
 *
 * Invariants:
 * 1. Every transfer is a whole number of whole blocks at a block boundary.
 * 2. Block numbers are below `blockCount()`; growing happens only through `grow()`.
 */
import { assert, assertIndex } from "../lib/assert.ts";
import { isPowerOfTwo, limits } from "../lib/limits.ts";
import type { RawDevice } from "./raw_device.ts";

export class BlockDevice {
  readonly raw: RawDevice;
  readonly blockSizeBytes: number;

  constructor(raw: RawDevice, blockSizeBytes: number) {
    assert(isPowerOfTwo(blockSizeBytes), `block size must be a power of two: ${blockSizeBytes}`);
    assert(blockSizeBytes >= limits.blockSizeBytesMin, "block size below the minimum");
    assert(blockSizeBytes <= limits.blockSizeBytesMax, "block size above the maximum");
    this.raw = raw;
    this.blockSizeBytes = blockSizeBytes;
  }

  /** The device name, for error messages. */
  get name(): string {
    return this.raw.name;
  }

  /** How many whole blocks the device holds now. */
  blockCount(): number {
    return Math.floor(this.raw.sizeBytes() / this.blockSizeBytes);
  }

  /** Reads block `blockIndex` into `target` (exactly one block long). */
  read(blockIndex: number, target: Uint8Array): void {
    this.#check(blockIndex, 1, target.length);
    this.raw.read(target, blockIndex * this.blockSizeBytes);
  }

  /** Writes `source` (exactly one block long) to block `blockIndex`. */
  write(blockIndex: number, source: Uint8Array): void {
    this.#check(blockIndex, 1, source.length);
    this.raw.write(source, blockIndex * this.blockSizeBytes);
  }

  /** Reads the consecutive blocks from `firstBlock` into `targets`, one block each, batched. */
  readRun(firstBlock: number, targets: readonly Uint8Array[]): void {
    for (const target of targets) assert(target.length === this.blockSizeBytes, "whole blocks");
    this.#check(firstBlock, targets.length, this.blockSizeBytes);
    this.raw.readBatch(targets, firstBlock * this.blockSizeBytes);
  }

  /** Writes `sources` (one block each) to the consecutive blocks from `firstBlock`, batched. */
  writeRun(firstBlock: number, sources: readonly Uint8Array[]): void {
    for (const source of sources) assert(source.length === this.blockSizeBytes, "whole blocks");
    this.#check(firstBlock, sources.length, this.blockSizeBytes);
    this.raw.writeBatch(sources, firstBlock * this.blockSizeBytes);
  }

  /** Makes every completed write durable. */
  flush(): void {
    this.raw.flush();
  }

  /**
   * Reads consecutive blocks from `firstBlock` into `target` (a whole number of blocks) off the
   * calling thread where the device can (see RawDevice.readAsync), else synchronously.
   */
  readRunAsync(firstBlock: number, target: Uint8Array): Promise<void> {
    this.#checkRun(firstBlock, target.length);
    const offset = firstBlock * this.blockSizeBytes;
    if (this.raw.readAsync !== undefined) return this.raw.readAsync(target, offset);
    this.raw.read(target, offset);
    return Promise.resolve();
  }

  /** True when writes can run off the calling thread (`writeRunAsync` does not block). */
  get writesOffThread(): boolean {
    return this.raw.writeAsync !== undefined && this.raw.writeQueued !== undefined;
  }

  /** True when reads can run off the calling thread (`readRunAsync` does not block). */
  get readsOffThread(): boolean {
    return this.raw.readAsync !== undefined;
  }

  /**
   * Writes `source` (a whole number of blocks) to the consecutive blocks from `firstBlock` off
   * the calling thread where the device can (see RawDevice.writeAsync), else synchronously.
   * `source` must stay unchanged until the promise settles.
   */
  writeRunAsync(firstBlock: number, source: Uint8Array): Promise<void> {
    this.#checkRun(firstBlock, source.length);
    const offset = firstBlock * this.blockSizeBytes;
    if (this.writesOffThread) return this.raw.writeAsync!(source, offset);
    this.raw.write(source, offset);
    return Promise.resolve();
  }

  /**
   * Writes `source` (one block) to block `blockIndex`, ordered after every asynchronous request
   * submitted before (an earlier `writeRunAsync` of the block lands first); returns when done.
   */
  writeQueued(blockIndex: number, source: Uint8Array): void {
    this.#check(blockIndex, 1, source.length);
    const offset = blockIndex * this.blockSizeBytes;
    if (this.raw.writeQueued !== undefined) this.raw.writeQueued(source, offset);
    else this.raw.write(source, offset);
  }

  /** Makes every completed write durable without blocking the calling thread. */
  flushAsync(): Promise<void> {
    return this.raw.flushAsync();
  }

  /** Grows the device to `blockCount` blocks (reserved space, zero-filled). */
  grow(blockCount: number): void {
    assertIndex(blockCount, "blockCount");
    assert(blockCount <= limits.imageBlocksCountMax, "image above the block count limit");
    this.raw.allocate(blockCount * this.blockSizeBytes);
  }

  close(): void {
    this.raw.close();
  }

  /** A run of whole blocks from `firstBlock`, inside the device (invariants 1 and 2). */
  #checkRun(firstBlock: number, lengthBytes: number): void {
    assertIndex(firstBlock, "firstBlock");
    assert(
      lengthBytes > 0 && lengthBytes % this.blockSizeBytes === 0,
      `transfers are whole blocks: ${lengthBytes} bytes`,
    );
    assert(
      firstBlock + lengthBytes / this.blockSizeBytes <= this.blockCount(),
      `block ${firstBlock} past end of ${this.name}`,
    );
  }

  #check(blockIndex: number, blocks: number, lengthBytes: number): void {
    assertIndex(blockIndex, "blockIndex");
    assert(lengthBytes === this.blockSizeBytes, `transfers are whole blocks: ${lengthBytes} bytes`);
    assert(
      blockIndex + blocks <= this.blockCount(),
      `block ${blockIndex} past end of ${this.name}`,
    );
  }
}
