/**
 * The logged page store: pages for B+trees over the buffer pool, with every change written to
 * the WAL in atomic groups, block allocation through the engine's meta page, and redo.
 *
 * Rules (PostgreSQL's WAL recipe, adapted to one thread):
 * 1. Every change happens inside a group (`run`). Pages changed in a group stay pinned until
 *    the group ends, so none of them can reach disk before its records are in the log.
 * 2. At the end of a group each changed page is logged once: as a page image when the group
 *    changed it structurally or when it was last changed at or before the latest checkpoint's
 *    redo point (full-page writes: a torn page is restored from its image), else as its leaf
 *    puts and deletes. "At": a page LSN equal to the redo point belongs to a group that ended
 *    there, before the checkpoint, so its next change must carry an image too. The last record carries the group-end flag; recovery applies only whole groups.
 * 3. Every page of a group gets the group's end LSN as its page LSN, so writing the page
 *    first flushes the WAL through the whole group (WAL before data, via the pool's flusher).
 * 4. Space is allocated from the free list, else above the high-water mark, growing the image
 *    by extents; both live on the meta page (block 2), logged like any page.
 *
 * Meta page payload (after the 32-byte block header):
 *
 * | offset | bytes | field                                     |
 * |-------:|------:|-------------------------------------------|
 * |     32 |     8 | magic "EXOMETA1"                          |
 * |     40 |     4 | high-water mark: next never-used block    |
 * |     44 |     4 | free list head (0 = empty)                |
 * |     48 |     4 | next tree id                              |
 * |     52 |     4 | catalog tree root (0 = none yet)          |
 * |     56 |     8 | next transaction id                       |
 * |     64 |     4 | sequence tree root (0 = none yet)         |
 *
 * A free page keeps the next free block at offset 32.
 */
import { assert } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import { limits } from "../lib/limits.ts";
import { blockLsn, BlockType, type BlockTypeValue, setBlockLsn } from "../io/block.ts";
import type { BufferPool, PageGuard } from "../io/buffer_pool.ts";
import { CorruptBlockError } from "../io/block.ts";
import type { DiskImage } from "../io/disk_image.ts";
import { Node, nodeHeaderBytes } from "./btree/node.ts";
import type { PageChange, PageStore } from "./btree/page_store.ts";
import { groupEndFlag, readU64, RecordType, type WalRecord, writeU64 } from "./wal/record.ts";
import type { Wal } from "./wal/wal.ts";

/** Blocks kept available before a group starts (a B+tree change allocates a handful). */
const groupBlocksReserve = 64;
/** Log space kept available before a group starts, in pages (a group's images fit in it). */
const groupLogPagesReserve = 32;

/** The meta page's block number. */
export const metaBlock = limits.superblockCopiesCount;
const metaMagic = "EXOMETA1";

const metaAt = {
  magic: 32,
  highWater: 40,
  freeHead: 44,
  nextTreeId: 48,
  catalogRoot: 52,
  nextTxnId: 56,
  sequenceRoot: 64,
  kvRoot: 68,
} as const;

/** Meta fields held as u32. */
export type MetaField =
  | "highWater"
  | "freeHead"
  | "nextTreeId"
  | "catalogRoot"
  | "sequenceRoot"
  | "kvRoot";

interface Touched {
  guard: PageGuard;
  lsnBefore: number;
  image: boolean;
  /** The page's leaf changes as WAL records, built when each change is reported. */
  records: { type: number; payload: Uint8Array }[];
}

/** Counters of what was logged, for tests and stats. */
export interface PageLogStats {
  groups: number;
  images: number;
  imageBytes: number;
  leafRecords: number;
}

export class LoggedPageStore implements PageStore {
  readonly blockSizeBytes: number;
  readonly pool: BufferPool;
  readonly wal: Wal;
  readonly image: DiskImage;
  /** Pages last changed at or before this LSN get a full image on their next change. */
  fullPageLsn = 0;
  readonly stats: PageLogStats = { groups: 0, images: 0, imageBytes: 0, leafRecords: 0 };
  #group: Map<number, Touched> | undefined;
  #txn = 0;
  #poisoned: unknown = undefined;
  /** While positive, {@link splitGroup} keeps the group whole (see {@link runWhole}). */
  #wholeDepth = 0;
  /** Meta fields as last read or written (the meta page changes only through setMeta and redo). */
  readonly #metaCache = new Map<string, number>();
  /** True once the meta page exists (a new image formats it in its first group). */
  #metaReady = false;

  constructor(pool: BufferPool, wal: Wal, image: DiskImage) {
    this.pool = pool;
    this.wal = wal;
    this.image = image;
    this.blockSizeBytes = pool.blockSizeBytes;
  }

  /** True when the meta page has been formatted. */
  hasMeta(): boolean {
    if (this.image.blockCount <= metaBlock) return false;
    try {
      using guard = this.pool.pin(metaBlock);
      return String.fromCharCode(...guard.bytes.subarray(metaAt.magic, metaAt.magic + 8)) ===
        metaMagic;
    } catch (error) {
      if (error instanceof CorruptBlockError && error.reason === "zeroed") return false;
      throw error;
    }
  }

  /** Formats the meta page of a new image (inside a group). */
  formatMeta(): void {
    const guard = this.pool.pinNew(metaBlock, BlockType.meta);
    try {
      new TextEncoder().encodeInto(metaMagic, guard.bytes.subarray(metaAt.magic, metaAt.magic + 8));
      const view = dataView(guard.bytes);
      view.setUint32(metaAt.highWater, metaBlock + 1, true);
      view.setUint32(metaAt.nextTreeId, 1, true);
      writeU64(view, metaAt.nextTxnId, 1);
      this.#metaCache.clear();
      this.changed(guard, { kind: "image" });
    } finally {
      guard.release();
    }
    this.#metaReady = true;
  }

  /**
   * Logs a full image of the meta page (a page-change group of its own). A checkpoint does it
   * right after its redo point, so every redo point recovery may start from is followed by an
   * image of the meta page: a misdirected superblock write (block 1 lands on the meta page, block
   * 2) is then repaired by redo like any page, although the meta page itself did not change.
   */
  logMetaImage(): void {
    if (!this.#metaReady && !this.hasMeta()) return; // not formatted yet: nothing to protect
    this.run(0, () => {
      const guard = this.pool.pin(metaBlock);
      try {
        this.changed(guard, { kind: "image" });
      } finally {
        guard.release();
      }
    });
  }

  /** Reads a meta field. */
  meta(field: MetaField | "nextTxnId"): number {
    const cached = this.#metaCache.get(field);
    if (cached !== undefined) return cached;
    using guard = this.pool.pin(metaBlock);
    const view = dataView(guard.bytes);
    const value = field === "nextTxnId"
      ? readU64(view, metaAt.nextTxnId)
      : view.getUint32(metaAt[field], true);
    this.#metaCache.set(field, value);
    return value;
  }

  /** Writes a meta field (inside a group). */
  setMeta(field: MetaField | "nextTxnId", value: number): void {
    const guard = this.pool.pin(metaBlock);
    try {
      const view = dataView(guard.bytes);
      if (field === "nextTxnId") writeU64(view, metaAt.nextTxnId, value);
      else view.setUint32(metaAt[field], value, true);
      this.#metaCache.set(field, value);
      this.changed(guard, { kind: "image" });
    } finally {
      guard.release();
    }
  }

  /**
   * Runs `body` as one atomic group of page changes on behalf of transaction `txn`. A call
   * inside a running group joins it (the outer group decides where the atom ends).
   */
  run<T>(txn: number, body: () => T, freesOnly = false): T {
    if (this.#group !== undefined) return body();
    this.#checkUsable();
    // A group that only removes (rollback, vacuum) never allocates: it must work on a full disk.
    this.#reserveSpace(freesOnly);
    this.#group = new Map();
    this.#txn = txn;
    try {
      const result = body();
      this.#endGroup();
      return result;
    } catch (error) {
      // Rule 1 makes a half-done group unrecoverable in memory: its changes were made to pinned
      // pages and cannot be logged. Expected failures (full disk, full log) are ruled out by
      // #reserveSpace before the group starts, so only a device failure or a bug gets here: like
      // a PostgreSQL PANIC in a critical section, the store refuses all further changes and the
      // engine must restart and recover from the log.
      const touched = this.#group?.size ?? 0;
      this.#abandonGroup();
      if (touched > 0) this.#poisoned = error;
      throw error;
    }
  }

  /**
   * Like {@link run}, but the group is never split part-way (B+tree overflow writes normally end
   * the group after each page): a multi-key write with large values stays all-or-nothing at
   * recovery. The caller bounds the group's size (the KV layer's commit limits do).
   */
  runWhole<T>(txn: number, body: () => T): T {
    this.#wholeDepth++;
    try {
      return this.run(txn, body);
    } finally {
      this.#wholeDepth--;
    }
  }

  /** Log use for messages: "used of region bytes, from LSN to LSN". */
  regionUse(): string {
    const used = this.wal.insertLsn - this.wal.recycleLsn;
    return `${used} of ${this.wal.regionBytes} bytes in use, LSN ${this.wal.recycleLsn} to ${this.wal.insertLsn}`;
  }

  /** Stops the store from accepting changes (a failure the engine must restart from). */
  poison(error: unknown): void {
    this.#poisoned ??= error;
  }

  /** The error that made the store refuse changes, if any (the engine must restart). */
  get poisoned(): unknown {
    return this.#poisoned;
  }

  #checkUsable(): void {
    this.wal.checkHealthy(); // a failed log refuses every change before any page is touched
    if (this.#poisoned !== undefined) {
      throw new ExoError(
        "58030",
        "the storage engine stopped accepting changes after a failure inside an atomic page change; restart to recover",
        { cause: this.#poisoned },
      );
    }
  }

  /**
   * Makes sure a whole group can complete: free blocks for its allocations (growing the image
   * by an extent now, where ENOSPC is a clean error) and log space for its records.
   */
  #reserveSpace(freesOnly = false): void {
    if (this.#metaReady && !freesOnly) {
      const highWater = this.meta("highWater");
      if (highWater + groupBlocksReserve > this.image.blockCount) {
        this.image.ensureBlock(highWater + groupBlocksReserve);
      }
    }
    const reserveBytes = Math.min(
      groupLogPagesReserve * this.blockSizeBytes,
      this.wal.regionBytes / 4,
    );
    if (this.wal.freeBytes() < reserveBytes) {
      throw new ExoError(
        "53100",
        `the WAL is full (${this.regionUse()}): no log space until a checkpoint completes`,
      );
    }
  }

  pin(block: number): PageGuard {
    return this.pool.pin(block);
  }

  allocate(type: BlockTypeValue): PageGuard {
    assert(this.#group !== undefined, "allocation inside a group");
    const head = this.meta("freeHead");
    let block: number;
    if (head !== 0) {
      const free = this.pool.pin(head);
      const next = dataView(free.bytes).getUint32(32, true);
      assert(free.bytes[4] === BlockType.free, `free list block ${head} is not free`);
      free.release();
      this.setMeta("freeHead", next);
      block = head;
    } else {
      block = this.meta("highWater");
      this.image.ensureBlock(block);
      this.setMeta("highWater", block + 1);
    }
    const guard = this.pool.pinNew(block, type);
    this.changed(guard, { kind: "image" });
    return guard;
  }

  free(guard: PageGuard): void {
    assert(this.#group !== undefined, "free inside a group");
    const block = guard.blockNumber;
    guard.bytes.fill(0, 4);
    guard.bytes[4] = BlockType.free;
    dataView(guard.bytes).setUint32(32, this.meta("freeHead"), true);
    this.changed(guard, { kind: "image" });
    guard.release();
    this.setMeta("freeHead", block);
  }

  changed(guard: PageGuard, change: PageChange): void {
    const group = this.#group;
    assert(group !== undefined, "page changes happen inside a group");
    let touched = group.get(guard.blockNumber);
    if (touched === undefined) {
      touched = {
        guard: this.pool.pin(guard.blockNumber), // rule 1: held until the group ends
        lsnBefore: blockLsn(guard.bytes),
        image: false,
        records: [],
      };
      group.set(guard.blockNumber, touched);
    }
    if (change.kind === "image") touched.image = true;
    // The record copies the key and value now (callers may reuse their buffers).
    else if (!touched.image) touched.records.push(leafRecord(guard.blockNumber, change));
    guard.markDirty();
  }

  splitGroup(): void {
    if (this.#group === undefined || this.#wholeDepth > 0) return;
    this.#endGroup();
    this.#reserveSpace(); // between groups: a safe point to fail cleanly
    this.#group = new Map();
  }

  #endGroup(): void {
    const group = this.#group!;
    this.#group = undefined;
    if (group.size === 0) return;
    // Leaf records carry their payload; a page image is written from the page into the log
    // buffer when appended (no payload array: one copy of up to a block per image).
    const records: ({ type: number; payload: Uint8Array } | { image: number; page: Uint8Array })[] =
      [];
    for (const [block, touched] of group) {
      // `<=`: a page whose last group ended exactly at the redo point was written by that
      // checkpoint; redo from there must not meet a bare leaf delta for it (a torn write of
      // it later would then be unrecoverable). Found by the power-loss test.
      if (touched.image || touched.lsnBefore <= this.fullPageLsn || touched.lsnBefore === 0) {
        records.push({ image: block, page: touched.guard.bytes });
      } else {
        for (const record of touched.records) records.push(record);
        this.stats.leafRecords += touched.records.length;
      }
    }
    const last = records.length - 1;
    for (let i = 0; i <= last; i++) {
      const record = records[i]!;
      const flags = i === last ? groupEndFlag : 0;
      if ("payload" in record) {
        this.wal.append(record.type, flags, this.#txn, record.payload);
        continue;
      }
      const hole = holeOf(record.page);
      const payloadBytes = imagePayloadBytes(record.page, hole);
      this.wal.appendWith(
        RecordType.pageImage,
        flags,
        this.#txn,
        payloadBytes,
        (target) => writeImagePayload(target, record.image, record.page, hole),
      );
      this.stats.images++;
      this.stats.imageBytes += payloadBytes;
    }
    const endLsn = this.wal.insertLsn;
    for (const touched of group.values()) {
      setBlockLsn(touched.guard.bytes, endLsn);
      touched.guard.markDirty();
      touched.guard.release();
    }
    this.stats.groups++;
    // A long statement must not fill the log before its commit starts a checkpoint.
    if (this.wal.usedFraction() > 0.5) this.onLogPressure();
  }

  /** Called after a group when the log is more than half used (the storage checkpoints). */
  onLogPressure: () => void = () => {};

  #abandonGroup(): void {
    const group = this.#group;
    this.#group = undefined;
    if (group === undefined) return;
    for (const touched of group.values()) touched.guard.release();
  }

  /** Redo of one complete group (see {@link redoGroup}), keeping the meta cache coherent. */
  redoGroup(records: readonly WalRecord[], endLsn: number): number {
    this.#metaCache.clear();
    return redoGroup(this.pool, this.image, records, endLsn);
  }
}

/**
 * Redo of one complete group read from the log: applies each record to its page unless the
 * page already holds the group's changes (page LSN ≥ the group's end LSN). Needs only the pool
 * and the image, so recovery can apply groups while it is still scanning the log.
 */
export function redoGroup(
  pool: BufferPool,
  image: DiskImage,
  records: readonly WalRecord[],
  endLsn: number,
): number {
  let applied = 0;
  const done = new Set<number>();
  for (const record of records) {
    const block = dataView(record.payload).getUint32(0, true);
    image.ensureBlock(block);
    if (record.type === RecordType.pageImage) {
      let current: PageGuard | undefined;
      try {
        current = pool.pin(block);
      } catch (error) {
        if (!(error instanceof CorruptBlockError)) throw error;
        current = undefined; // torn, zeroed or stale: the image replaces it
      }
      if (current !== undefined && blockLsn(current.bytes) >= endLsn) {
        current.release();
        continue;
      }
      current?.release();
      const guard = pool.pinNew(block, BlockType.test);
      applyImage(guard.bytes, record.payload);
      setBlockLsn(guard.bytes, endLsn);
      guard.release();
      done.add(block);
      applied++;
      continue;
    }
    const guard = pool.pin(block); // a leaf delta needs an intact page to apply to
    try {
      if (blockLsn(guard.bytes) >= endLsn && !done.has(block)) continue;
      applyLeafRecord(new Node(guard.bytes), record);
      setBlockLsn(guard.bytes, endLsn);
      guard.markDirty();
      done.add(block);
      applied++;
    } finally {
      guard.release();
    }
  }
  return applied;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Bytes of a page image's payload for `page` with `hole` left out. */
function imagePayloadBytes(page: Uint8Array, hole: { start: number; length: number }): number {
  return 12 + page.length - 4 - hole.length;
}

/**
 * Image payload, written into `target` (exactly {@link imagePayloadBytes} long): block u32, hole
 * start u32, hole length u32, then bytes [4, size) minus the hole.
 */
function writeImagePayload(
  target: Uint8Array,
  block: number,
  page: Uint8Array,
  hole: { start: number; length: number },
): void {
  const view = dataView(target);
  view.setUint32(0, block, true);
  view.setUint32(4, hole.start, true);
  view.setUint32(8, hole.length, true);
  target.set(page.subarray(4, hole.start), 12);
  target.set(page.subarray(hole.start + hole.length), 12 + (hole.start - 4));
}

/**
 * The part of a page an image may leave out (restored as zeros). For B+tree nodes it is the
 * gap between the slot array and the cells (its bytes are never read); otherwise the longest
 * run of zero words.
 */
function holeOf(page: Uint8Array): { start: number; length: number } {
  const type = page[4];
  if (type === BlockType.btreeLeaf || type === BlockType.btreeInternal) {
    const node = new Node(page);
    const start = nodeHeaderBytes + node.count * 2;
    return { start, length: Math.max(0, node.cellStart - start) };
  }
  let bestStart = 4;
  let bestLength = 0;
  if (page.byteOffset % 4 !== 0) return { start: bestStart, length: bestLength };
  const words = new Uint32Array(page.buffer, page.byteOffset, page.byteLength >>> 2);
  let runStart = -1;
  for (let i = 1; i <= words.length; i++) {
    if (i < words.length && words[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLength >>> 2) {
        bestStart = runStart * 4;
        bestLength = (i - runStart) * 4;
      }
      runStart = -1;
    }
  }
  return { start: bestStart, length: bestLength };
}

function applyImage(page: Uint8Array, payload: Uint8Array): void {
  const view = dataView(payload);
  const holeStart = view.getUint32(4, true);
  const holeLength = view.getUint32(8, true);
  const before = holeStart - 4;
  assert(
    12 + page.length - 4 - holeLength === payload.length,
    "page image length matches the page",
  );
  page.set(payload.subarray(12, 12 + before), 4);
  page.fill(0, holeStart, holeStart + holeLength);
  page.set(payload.subarray(12 + before), holeStart + holeLength);
}

/** leafPut: block u32, key length u16, value length u32, overflow u8, key, value. leafDelete: block u32, key length u16, key. */
function leafRecord(block: number, change: PageChange): { type: number; payload: Uint8Array } {
  // Little-endian fields written byte by byte (no DataView per record: this runs once per put).
  if (change.kind === "leafPut") {
    const keyLength = change.key.length;
    const valueLength = change.value.length;
    const payload = new Uint8Array(11 + keyLength + valueLength);
    payload[0] = block;
    payload[1] = block >>> 8;
    payload[2] = block >>> 16;
    payload[3] = block >>> 24;
    payload[4] = keyLength;
    payload[5] = keyLength >>> 8;
    payload[6] = valueLength;
    payload[7] = valueLength >>> 8;
    payload[8] = valueLength >>> 16;
    payload[9] = valueLength >>> 24;
    payload[10] = change.overflow ? 1 : 0;
    payload.set(change.key, 11);
    payload.set(change.value, 11 + keyLength);
    return { type: RecordType.leafPut, payload };
  }
  assert(change.kind === "leafDelete", "leaf record kinds");
  const payload = new Uint8Array(6 + change.key.length);
  const view = dataView(payload);
  view.setUint32(0, block, true);
  view.setUint16(4, change.key.length, true);
  payload.set(change.key, 6);
  return { type: RecordType.leafDelete, payload };
}

function applyLeafRecord(node: Node, record: WalRecord): void {
  const view = dataView(record.payload);
  const keyLength = view.getUint16(4, true);
  if (record.type === RecordType.leafPut) {
    const valueLength = view.getUint32(6, true);
    const key = record.payload.subarray(11, 11 + keyLength);
    const value = record.payload.subarray(11 + keyLength, 11 + keyLength + valueLength);
    const { slot, found } = node.search(key);
    if (found) node.remove(slot);
    assert(node.fits(4 + key.length + value.length), "a redone leaf put fits as it did");
    node.insertLeaf(slot, key, value, record.payload[10] === 1);
    return;
  }
  const key = record.payload.subarray(6, 6 + keyLength);
  const { slot, found } = node.search(key);
  assert(found, "a redone leaf delete finds its key");
  node.remove(slot);
}
