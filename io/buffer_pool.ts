/**
 * The buffer pool: a fixed number of block-sized frames in one SharedArrayBuffer (so an I/O
 * worker can later read straight into them), a page table from block number to frame, pin
 * counts, dirty flags and CLOCK replacement.
 *
 * Rules (after PostgreSQL's buffer README):
 * 1. Page bytes are reached only through a {@link PageGuard}; a pinned frame is never evicted.
 *    Release a guard exactly once (`using` does it at scope exit); a second release is a bug.
 * 2. A block read in is verified once (checksum, block number, image tag) before anyone sees it;
 *    a failure leaves no frame behind and raises CorruptBlockError (XX001).
 * 3. A dirty frame is sealed (checksum computed once) and written before its frame is reused,
 *    and never before the WAL is durable up to the frame's LSN (WAL-before-data, via WalFlusher).
 * 4. Memory is bounded by the pool: frames are allocated once at construction, never later.
 * 5. Staged write-back (a checkpoint on a device that writes off the thread): `stage` seals a
 *    dirty frame, copies it into the caller's buffer and marks the frame clean; the copy is the
 *    block's newest disk image until `unstage`. While staged, a miss on the block is served from
 *    the copy (the disk may hold half of it), and a write of the block goes through the device's
 *    queue (`writeQueued`) so it lands after the staged one. Other readers of the raw device
 *    check `stagedCopy` after their read.
 */
import { assert, assertIndex } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import { limits } from "../lib/limits.ts";
import { consecutiveRunEnd } from "../lib/block_runs.ts";
import type { BlockDevice } from "../hw/block_device.ts";
import { blockLsn, type BlockTypeValue, initBlock, resealBlock, verifyBlock } from "./block.ts";

/** Makes the WAL durable up to an LSN; implemented by the storage engine. */
export interface WalFlusher {
  flushTo(lsn: number): void;
}

/** Options for a {@link BufferPool}. */
export interface BufferPoolOptions {
  frameCount: number;
  /** The tag of the image the blocks belong to (see io/block.ts). */
  imageTag: number;
  /** Called before a dirty frame is written; omitted when nothing is logged (tests, tools). */
  walFlusher?: WalFlusher;
}

/** Counters of a pool since it was built. */
export interface BufferPoolStats {
  frames: number;
  hits: number;
  misses: number;
  evictions: number;
  reads: number;
  writes: number;
  pinned: number;
  dirty: number;
  resident: number;
}

const noBlock = -1;

/** A pinned frame. Release it once; `using guard = pool.pin(n)` releases at scope exit. */
export class PageGuard implements Disposable {
  readonly blockNumber: number;
  /** The block's bytes: a view into the pool's frame, valid until release. */
  readonly bytes: Uint8Array;
  readonly #pool: BufferPool;
  readonly #frame: number;
  #released = false;

  constructor(pool: BufferPool, frame: number, blockNumber: number, bytes: Uint8Array) {
    this.#pool = pool;
    this.#frame = frame;
    this.blockNumber = blockNumber;
    this.bytes = bytes;
  }

  /** Declares the block changed; it will be written before its frame is reused. */
  markDirty(): void {
    assert(!this.#released, `markDirty after release of block ${this.blockNumber}`);
    this.#pool.markFrameDirty(this.#frame);
  }

  /** Unpins the frame. */
  release(): void {
    assert(!this.#released, `block ${this.blockNumber} released twice`);
    this.#released = true;
    this.#pool.unpinFrame(this.#frame);
  }

  [Symbol.dispose](): void {
    if (!this.#released) this.release();
  }
}

export class BufferPool {
  readonly device: BlockDevice;
  readonly frameCount: number;
  readonly blockSizeBytes: number;
  /** All frames, back to back: frame f is bytes [f·blockSize, (f+1)·blockSize). */
  readonly memory: SharedArrayBuffer;
  readonly #imageTag: number;
  #walFlusher: WalFlusher | undefined;
  readonly #frames: Uint8Array[];
  readonly #frameBlock: Float64Array; // block number held by each frame, or noBlock
  readonly #pins: Int32Array;
  readonly #dirty: Uint8Array;
  readonly #referenced: Uint8Array; // CLOCK's second-chance bit
  readonly #pageTable = new Map<number, number>();
  /** Blocks written since the last `takeWritten`, with the checksum each was written with. */
  #writtenBlocks = new Map<number, number>();
  /** Blocks whose staged write may still be in flight, with the staged copy (rule 5). */
  readonly #staged = new Map<number, Uint8Array>();
  readonly #free: number[] = [];
  #hand = 0;
  #pinnedFrames = 0;
  #dirtyFrames = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #reads = 0;
  #writes = 0;

  constructor(device: BlockDevice, options: BufferPoolOptions) {
    assert(
      options.frameCount >= limits.poolFramesCountMin,
      `pool needs at least ${limits.poolFramesCountMin} frames`,
    );
    assert(
      options.frameCount * device.blockSizeBytes <= limits.poolSizeBytesMax,
      "pool above its size limit",
    );
    this.device = device;
    this.frameCount = options.frameCount;
    this.blockSizeBytes = device.blockSizeBytes;
    this.#imageTag = options.imageTag;
    this.#walFlusher = options.walFlusher;
    this.memory = new SharedArrayBuffer(this.frameCount * this.blockSizeBytes);
    this.#frames = [];
    for (let f = 0; f < this.frameCount; f++) {
      this.#frames.push(new Uint8Array(this.memory, f * this.blockSizeBytes, this.blockSizeBytes));
    }
    this.#frameBlock = new Float64Array(this.frameCount).fill(noBlock);
    this.#pins = new Int32Array(this.frameCount);
    this.#dirty = new Uint8Array(this.frameCount);
    this.#referenced = new Uint8Array(this.frameCount);
    for (let f = this.frameCount - 1; f >= 0; f--) this.#free.push(f);
  }

  /** Installs the WAL flusher once the log is open (boot builds the pool before the log). */
  setWalFlusher(flusher: WalFlusher): void {
    this.#walFlusher = flusher;
  }

  /** Pins block `blockNumber`, reading and verifying it on a miss. */
  pin(blockNumber: number): PageGuard {
    assertIndex(blockNumber, "blockNumber");
    const resident = this.#pageTable.get(blockNumber);
    if (resident !== undefined) {
      this.#hits++;
      return this.#guard(resident, blockNumber);
    }
    this.#misses++;
    const frame = this.#takeFrame();
    try {
      const staged = this.#staged.get(blockNumber);
      if (staged !== undefined) this.#frames[frame]!.set(staged); // rule 5
      else this.device.read(blockNumber, this.#frames[frame]!);
      this.#reads++;
      verifyBlock(this.#frames[frame]!, this.device.name, blockNumber, this.#imageTag);
    } catch (error) {
      this.#free.push(frame); // rule 2: a block that failed to read leaves no frame behind
      throw error;
    }
    this.#install(frame, blockNumber);
    return this.#guard(frame, blockNumber);
  }

  /** Pins a block that is being created: no read, a zeroed frame of `type`, already dirty. */
  pinNew(blockNumber: number, type: BlockTypeValue): PageGuard {
    assertIndex(blockNumber, "blockNumber");
    assert(blockNumber < this.device.blockCount(), `new block ${blockNumber} beyond the device`);
    let frame = this.#pageTable.get(blockNumber);
    if (frame === undefined) {
      frame = this.#takeFrame();
      this.#install(frame, blockNumber);
    } else {
      assert(this.#pins[frame] === 0, `block ${blockNumber} created while pinned`);
    }
    initBlock(this.#frames[frame]!, type);
    const guard = this.#guard(frame, blockNumber);
    this.markFrameDirty(frame);
    return guard;
  }

  /** Reads the missing blocks among `blockNumbers` ahead of use, consecutive ones in one call. */
  prefetch(blockNumbers: readonly number[]): void {
    const missing = [...new Set(blockNumbers)].filter((b) => !this.#pageTable.has(b)).sort((a, b) =>
      a - b
    );
    // Keep a quarter of the pool for the caller's own pins.
    const budget = Math.max(0, Math.floor(this.frameCount * 0.75) - this.#pinnedFrames);
    let start = 0;
    while (start < missing.length && start < budget) {
      const end = consecutiveRunEnd(
        missing,
        start,
        Math.min(limits.ioBatchBlocksMax, budget - start),
      );
      this.#readRun(missing.slice(start, end));
      start = end;
    }
  }

  /** Writes every dirty frame (a checkpoint's flush) and returns how many were written. */
  flushAll(): number {
    const before = this.#writes;
    this.flushFrames(0, this.frameCount);
    return this.#writes - before;
  }

  /**
   * Writes the dirty frames among `count` frames from `first` (a checkpoint's sweep, one slice
   * at a time) and returns the frame to continue from.
   */
  flushFrames(first: number, count: number): number {
    const end = Math.min(this.frameCount, first + count);
    for (let f = first; f < end; f++) if (this.#dirty[f]) this.#writeFrame(f);
    return end;
  }

  /**
   * The blocks written (and their checksums) since the last call, for a checkpoint to read
   * back after its sync: a write the device dropped or misdirected shows up as a mismatch.
   */
  takeWritten(): Map<number, number> {
    const written = this.#writtenBlocks;
    this.#writtenBlocks = new Map();
    return written;
  }

  /** True when `block` is resident with changes not yet written out (its disk copy is older). */
  isDirty(block: number): boolean {
    const frame = this.#pageTable.get(block);
    return frame !== undefined && this.#dirty[frame] !== 0;
  }

  /** True when `block` is in the pool (a pin would not read it from the device). */
  isResident(block: number): boolean {
    return this.#pageTable.has(block);
  }

  /**
   * Appends to `into` the blocks of the dirty frames among `count` frames from `first` (a
   * checkpoint's list of what to write) and returns the frame to continue from.
   */
  collectDirty(first: number, count: number, into: number[]): number {
    const end = Math.min(this.frameCount, first + count);
    for (let f = first; f < end; f++) if (this.#dirty[f]) into.push(this.#frameBlock[f]!);
    return end;
  }

  /**
   * Staged write-back (rule 5): when `block` is resident and dirty, seals its frame (after the
   * WAL is durable up to its LSN), copies it into `into` (one block long), marks the frame
   * clean and returns the checksum; the caller writes `into` and calls `unstage` once that
   * settled. Undefined (nothing staged) when the block is not resident or not dirty.
   */
  stage(block: number, into: Uint8Array): number | undefined {
    const frame = this.#pageTable.get(block);
    if (frame === undefined || !this.#dirty[frame]) return undefined;
    assert(into.length === this.blockSizeBytes, "a staged copy is one block");
    const checksum = this.#seal(frame, block);
    into.set(this.#frames[frame]!);
    this.#staged.set(block, into);
    this.#markWritten(frame, block, checksum);
    return checksum;
  }

  /** Ends rule 5 for `block` once the write of `copy` settled (a later staging is kept). */
  unstage(block: number, copy: Uint8Array): void {
    if (this.#staged.get(block) === copy) this.#staged.delete(block);
  }

  /** The staged copy of `block` while its write may be in flight (rule 5), else undefined. */
  stagedCopy(block: number): Uint8Array | undefined {
    return this.#staged.get(block);
  }

  /** True when `block` was written again since the last `takeWritten`. */
  rewrittenSince(block: number): boolean {
    return this.#writtenBlocks.has(block);
  }

  /** Counters and occupancy. */
  stats(): BufferPoolStats {
    return {
      frames: this.frameCount,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      reads: this.#reads,
      writes: this.#writes,
      pinned: this.#pinnedFrames,
      dirty: this.#dirtyFrames,
      resident: this.#pageTable.size,
    };
  }

  /** Frames pinned now: zero whenever no operation is in flight (leak check). */
  pinnedCount(): number {
    return this.#pinnedFrames;
  }

  /** Used by {@link PageGuard}. */
  markFrameDirty(frame: number): void {
    if (!this.#dirty[frame]) {
      this.#dirty[frame] = 1;
      this.#dirtyFrames++;
    }
  }

  /** Used by {@link PageGuard}. */
  unpinFrame(frame: number): void {
    assert(this.#pins[frame]! > 0, `unpin of unpinned frame ${frame}`);
    if (--this.#pins[frame]! === 0) this.#pinnedFrames--;
  }

  #guard(frame: number, blockNumber: number): PageGuard {
    if (this.#pins[frame]!++ === 0) this.#pinnedFrames++;
    this.#referenced[frame] = 1;
    return new PageGuard(this, frame, blockNumber, this.#frames[frame]!);
  }

  #install(frame: number, blockNumber: number): void {
    this.#frameBlock[frame] = blockNumber;
    this.#pageTable.set(blockNumber, frame);
  }

  #readRun(blocks: number[]): void {
    const frames = blocks.map(() => this.#takeFrame());
    const targets = frames.map((f) => this.#frames[f]!);
    try {
      this.device.readRun(blocks[0]!, targets);
    } catch (error) {
      for (const f of frames) this.#free.push(f);
      throw error;
    }
    this.#reads += blocks.length;
    for (let i = 0; i < blocks.length; i++) {
      const staged = this.#staged.get(blocks[i]!);
      if (staged !== undefined) targets[i]!.set(staged); // rule 5: the read may be torn
      try {
        verifyBlock(targets[i]!, this.device.name, blocks[i]!, this.#imageTag);
        this.#install(frames[i]!, blocks[i]!);
      } catch {
        // A prefetch never reports: the block is left out and a real pin will raise the error.
        this.#free.push(frames[i]!);
      }
    }
  }

  /** A frame to fill: a free one, or a CLOCK victim (written first when dirty). */
  #takeFrame(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    for (let step = 0; step < 2 * this.frameCount; step++) {
      const frame = this.#hand;
      this.#hand = (this.#hand + 1) % this.frameCount;
      if (this.#pins[frame]! > 0) continue;
      if (this.#referenced[frame]) {
        this.#referenced[frame] = 0;
        continue;
      }
      if (this.#dirty[frame]) this.#writeFrame(frame);
      this.#pageTable.delete(this.#frameBlock[frame]!);
      this.#frameBlock[frame] = noBlock;
      this.#evictions++;
      return frame;
    }
    throw new ExoError("53200", `Buffer pool exhausted: all ${this.frameCount} frames are pinned`);
  }

  #writeFrame(frame: number): void {
    const blockNumber = this.#frameBlock[frame]!;
    assert(blockNumber !== noBlock, "dirty frame holds a block");
    const bytes = this.#frames[frame]!;
    const checksum = this.#seal(frame, blockNumber);
    if (this.#staged.has(blockNumber)) {
      this.device.writeQueued(blockNumber, bytes); // rule 5: lands after the staged write
      this.#staged.delete(blockNumber);
    } else {
      this.device.write(blockNumber, bytes);
    }
    this.#markWritten(frame, blockNumber, checksum);
  }

  /** Seals a dirty frame for its write (after the WAL is durable up to its LSN; rule 3). */
  #seal(frame: number, blockNumber: number): number {
    const bytes = this.#frames[frame]!;
    this.#walFlusher?.flushTo(blockLsn(bytes));
    return resealBlock(bytes, blockNumber, this.#imageTag);
  }

  /** Records a frame's write (done or staged) with its checksum and marks the frame clean. */
  #markWritten(frame: number, blockNumber: number, checksum: number): void {
    this.#writtenBlocks.set(blockNumber, checksum);
    this.#writes++;
    this.#dirty[frame] = 0;
    this.#dirtyFrames--;
  }
}
