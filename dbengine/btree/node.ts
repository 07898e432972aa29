/**
 * B+tree node pages: a slotted layout inside one block, after the 32-byte block header.
 *
 * | offset | bytes | field                                                          |
 * |-------:|------:|----------------------------------------------------------------|
 * |     32 |     1 | level: 0 for a leaf, n for an internal node n levels above     |
 * |     33 |     1 | flags (reserved)                                               |
 * |     34 |     2 | slot count                                                     |
 * |     36 |     4 | cell area start: cells fill [start, blockSize) from the end   |
 * |     40 |     4 | garbage bytes inside the cell area (reclaimed by compaction)  |
 * |     44 |     4 | right sibling block (0 = none; block 0 is never a node)       |
 * |     48 |     4 | left sibling block (0 = none)                                  |
 * |     52 |     4 | leftmost child (internal nodes): keys below the first separator |
 * |     56 |     4 | tree id                                                        |
 * |     60 |     4 | reserved                                                       |
 * |     64 |  2·n  | slots: u16 cell offsets, in key order                          |
 *
 * Leaf cell:     key length u16 | value length u16 (bit 15: overflow) | key | value
 *                (an overflow value is stored as total length u32 | first block u32)
 * Internal cell: key length u16 | child block u32 | key  (child holds keys ≥ key)
 *
 * Invariants: slots are sorted by key with no duplicates; slotsEnd ≤ cellStart; every cell lies
 * in [cellStart, blockSize); garbage counts exactly the dead bytes in the cell area.
 */
import { assert } from "../../lib/assert.ts";
import { blockHeaderBytes } from "../../io/block.ts";

export const nodeHeaderBytes = 64;
const at = {
  level: blockHeaderBytes,
  count: blockHeaderBytes + 2,
  cellStart: blockHeaderBytes + 4,
  garbage: blockHeaderBytes + 8,
  right: blockHeaderBytes + 12,
  left: blockHeaderBytes + 16,
  leftmost: blockHeaderBytes + 20,
  treeId: blockHeaderBytes + 24,
} as const;

/** Bit 15 of a leaf cell's value length: the value lives in overflow blocks. */
export const overflowFlag = 0x8000;
/** Bytes of an inline overflow reference: total length u32, first block u32. */
export const overflowRefBytes = 8;

const scratchBySize = new Map<number, Uint8Array>();

/** A page-sized scratch buffer (one per size; single-threaded use only). */
function scratchFor(size: number): Uint8Array {
  let scratch = scratchBySize.get(size);
  if (scratch === undefined) {
    scratch = new Uint8Array(size);
    scratchBySize.set(size, scratch);
  }
  return scratch;
}

/** A view of one node page. Cheap to create; holds no state beyond the bytes. */
export class Node {
  readonly bytes: Uint8Array;
  readonly size: number;

  // Little-endian field access by hand: a DataView per node would be an allocation on every
  // level of every descent.
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.size = bytes.length;
  }

  #u16(at: number): number {
    const b = this.bytes;
    return b[at]! | (b[at + 1]! << 8);
  }

  #u32(at: number): number {
    const b = this.bytes;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x100_0000;
  }

  #set16(at: number, value: number): void {
    this.bytes[at] = value & 0xff;
    this.bytes[at + 1] = (value >>> 8) & 0xff;
  }

  #set32(at: number, value: number): void {
    const b = this.bytes;
    b[at] = value & 0xff;
    b[at + 1] = (value >>> 8) & 0xff;
    b[at + 2] = (value >>> 16) & 0xff;
    b[at + 3] = (value >>> 24) & 0xff;
  }

  /** Formats an empty node (the block header's type is set by the caller). */
  init(level: number, treeId: number): void {
    this.bytes.fill(0, blockHeaderBytes);
    this.bytes[at.level] = level;
    this.#set32(at.cellStart, this.size);
    this.#set32(at.treeId, treeId);
  }

  get level(): number {
    return this.bytes[at.level]!;
  }
  get isLeaf(): boolean {
    return this.bytes[at.level] === 0;
  }
  get count(): number {
    return this.#u16(at.count);
  }
  set count(n: number) {
    this.#set16(at.count, n);
  }
  get cellStart(): number {
    return this.#u32(at.cellStart);
  }
  set cellStart(n: number) {
    this.#set32(at.cellStart, n);
  }
  get garbage(): number {
    return this.#u32(at.garbage);
  }
  set garbage(n: number) {
    this.#set32(at.garbage, n);
  }
  get right(): number {
    return this.#u32(at.right);
  }
  set right(n: number) {
    this.#set32(at.right, n);
  }
  get left(): number {
    return this.#u32(at.left);
  }
  set left(n: number) {
    this.#set32(at.left, n);
  }
  get leftmost(): number {
    return this.#u32(at.leftmost);
  }
  set leftmost(n: number) {
    this.#set32(at.leftmost, n);
  }
  get treeId(): number {
    return this.#u32(at.treeId);
  }

  /** Offset of cell `slot`. */
  cellAt(slot: number): number {
    return this.#u16(nodeHeaderBytes + slot * 2);
  }

  keyLength(slot: number): number {
    return this.#u16(this.cellAt(slot));
  }

  /** Offset of the key bytes of cell `slot`. */
  keyOffset(slot: number): number {
    return this.cellAt(slot) + (this.isLeaf ? 4 : 6);
  }

  /** The key of `slot` as a view into the page (valid while pinned and unchanged). */
  key(slot: number): Uint8Array {
    const offset = this.keyOffset(slot);
    return this.bytes.subarray(offset, offset + this.keyLength(slot));
  }

  /** Leaf: the raw value length field (with the overflow flag). */
  valueField(slot: number): number {
    return this.#u16(this.cellAt(slot) + 2);
  }

  /** Leaf: the inline value bytes (or the overflow reference) of `slot`. */
  value(slot: number): Uint8Array {
    const cell = this.cellAt(slot);
    const field = this.#u16(cell + 2);
    const length = field & overflowFlag ? overflowRefBytes : field;
    const offset = cell + 4 + this.#u16(cell);
    return this.bytes.subarray(offset, offset + length);
  }

  /** Internal: the child block of `slot`. */
  child(slot: number): number {
    return this.#u32(this.cellAt(slot) + 2);
  }

  setChild(slot: number, block: number): void {
    this.#set32(this.cellAt(slot) + 2, block);
  }

  /** Total bytes one cell takes, slot included. */
  cellBytes(slot: number): number {
    const cell = this.cellAt(slot);
    const keyLength = this.#u16(cell);
    if (!this.isLeaf) return 2 + 6 + keyLength;
    const field = this.#u16(cell + 2);
    return 2 + 4 + keyLength + (field & overflowFlag ? overflowRefBytes : field);
  }

  /** Free bytes between the slots and the cells, plus garbage (after compaction). */
  freeBytes(): number {
    return this.cellStart - (nodeHeaderBytes + this.count * 2) + this.garbage;
  }

  /** Bytes in use by cells and slots. */
  usedBytes(): number {
    return this.size - nodeHeaderBytes - this.freeBytes();
  }

  /**
   * Binary search: the first slot whose key is ≥ `key` (count when none), and whether it is
   * equal. Compares in place, without copying keys.
   */
  search(key: Uint8Array): { slot: number; found: boolean } {
    let low = 0;
    let high = this.count;
    const bytes = this.bytes;
    const leaf = this.isLeaf;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const cell = this.#u16(nodeHeaderBytes + mid * 2);
      const length = this.#u16(cell);
      const offset = cell + (leaf ? 4 : 6);
      // memcmp(key, page key)
      const n = length < key.length ? length : key.length;
      let c = 0;
      for (let i = 0; i < n; i++) {
        c = bytes[offset + i]! - key[i]!;
        if (c !== 0) break;
      }
      if (c === 0) c = length - key.length;
      if (c < 0) low = mid + 1;
      else if (c > 0) high = mid;
      else return { slot: mid, found: true };
    }
    return { slot: low, found: false };
  }

  /** Internal: the child to follow for `key`. */
  childFor(key: Uint8Array): number {
    const { slot, found } = this.search(key);
    // Separator i holds keys ≥ key(i): an equal key goes right of it, a smaller one to slot-1.
    const index = found ? slot : slot - 1;
    return index < 0 ? this.leftmost : this.child(index);
  }

  /** Internal: the position of the child pointer for `key` (-1 = leftmost). */
  childIndexFor(key: Uint8Array): number {
    const { slot, found } = this.search(key);
    return found ? slot : slot - 1;
  }

  #reserve(cellBytes: number): number {
    if (this.cellStart - (nodeHeaderBytes + (this.count + 1) * 2) < cellBytes) this.compact();
    const start = this.cellStart - cellBytes;
    assert(start >= nodeHeaderBytes + (this.count + 1) * 2, "node overflow: caller checked fits()");
    this.cellStart = start;
    return start;
  }

  #insertSlot(slot: number, cell: number): void {
    const base = nodeHeaderBytes + slot * 2;
    const end = nodeHeaderBytes + this.count * 2;
    this.bytes.copyWithin(base + 2, base, end);
    this.#set16(base, cell);
    this.count = this.count + 1;
  }

  /** True when a cell of `cellBytes` (slot excluded) fits, after compaction if needed. */
  fits(cellBytes: number): boolean {
    return this.freeBytes() >= cellBytes + 2;
  }

  /** Leaf: inserts a cell at `slot` (the caller searched and checked `fits`). */
  insertLeaf(slot: number, key: Uint8Array, value: Uint8Array, overflow: boolean): void {
    const cell = this.#reserve(4 + key.length + value.length);
    this.#set16(cell, key.length);
    this.#set16(cell + 2, overflow ? overflowFlag : value.length);
    this.bytes.set(key, cell + 4);
    this.bytes.set(value, cell + 4 + key.length);
    this.#insertSlot(slot, cell);
  }

  /** Internal: inserts separator `key` with `child` at `slot`. */
  insertInternal(slot: number, key: Uint8Array, child: number): void {
    const cell = this.#reserve(6 + key.length);
    this.#set16(cell, key.length);
    this.#set32(cell + 2, child);
    this.bytes.set(key, cell + 6);
    this.#insertSlot(slot, cell);
  }

  /** Removes the cell at `slot`; its bytes become garbage. */
  remove(slot: number): void {
    const bytes = this.cellBytes(slot) - 2;
    const base = nodeHeaderBytes + slot * 2;
    const end = nodeHeaderBytes + this.count * 2;
    this.bytes.copyWithin(base, base + 2, end);
    this.count = this.count - 1;
    this.garbage = this.garbage + bytes;
  }

  /** Rewrites the cell area without garbage, keeping slot order. */
  compact(): void {
    if (this.garbage === 0) return;
    const n = this.count;
    const scratch = scratchFor(this.size);
    scratch.set(this.bytes); // one copy of the page; cells are moved back from it
    const before = new Node(scratch); // read positions and lengths from the copy, never the page
    let start = this.size;
    for (let slot = 0; slot < n; slot++) {
      const cell = before.cellAt(slot);
      const length = before.cellBytes(slot) - 2;
      start -= length;
      this.bytes.set(scratch.subarray(cell, cell + length), start);
      this.#set16(nodeHeaderBytes + slot * 2, start);
    }
    this.bytes.fill(0, nodeHeaderBytes + n * 2, start);
    this.cellStart = start;
    this.garbage = 0;
  }

  /** Copies cells [from, to) of this node, in order, as standalone cell images. */
  cellsBetween(from: number, to: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let slot = from; slot < to; slot++) {
      const cell = this.cellAt(slot);
      out.push(this.bytes.slice(cell, cell + this.cellBytes(slot) - 2));
    }
    return out;
  }

  /** Appends whole cell images (as returned by cellsBetween) after the last slot. */
  appendCells(cells: readonly Uint8Array[]): void {
    for (const image of cells) {
      const cell = this.#reserve(image.length);
      this.bytes.set(image, cell);
      this.#insertSlot(this.count, cell);
    }
  }

  /** Drops every cell (keeps level, siblings and leftmost). */
  clearCells(): void {
    this.bytes.fill(0, nodeHeaderBytes, this.size);
    this.count = 0;
    this.cellStart = this.size;
    this.garbage = 0;
  }
}
