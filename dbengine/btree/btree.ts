/**
 * A B+tree of variable-length byte keys and values over {@link PageStore} pages, after the
 * textbook design (Comer, "The Ubiquitous B-Tree", 1979) with these choices:
 *
 * - Keys compare as unsigned bytes (see key_codec.ts). Keys are unique within a tree.
 * - The root never moves: a root split pushes its contents down into two new children and a
 *   root with one child pulls it back up, so catalogs can store root block numbers for good.
 * - Leaves are doubly linked for forward and backward range scans.
 * - Separators are suffix-truncated: the shortest prefix of the right node's first key that is
 *   still above the left node's last key (Bayer & Unterauer's prefix B-tree idea).
 * - Values above a quarter page (minus the key) spill to a chain of overflow blocks.
 * - Underfull nodes (below a quarter page) merge with a sibling when both fit in one page, else
 *   leaves redistribute; internal nodes only merge.
 * - Concurrency: one kernel thread runs every operation to completion without yielding, so no
 *   latches are needed; cursors survive changes between batches by re-seeking from the last key.
 *
 * Deviation from Lehman & Yao: no high keys or right-link following, since no operation can
 * observe a half-finished split.
 *
 * Every page change is reported to the store (`changed`) for the WAL: small leaf puts and
 * deletes as themselves, anything structural as whole page images.
 */
import { assert } from "../../lib/assert.ts";
import { crashPoint } from "../../lib/crash_hooks.ts";
import { ExoError } from "../../lib/errors.ts";
import { BlockType } from "../../io/block.ts";
import type { PageGuard } from "../../io/buffer_pool.ts";
import { compareKeys } from "../key_codec.ts";
import { Node, nodeHeaderBytes, overflowFlag, overflowRefBytes } from "./node.ts";
import type { PageStore } from "./page_store.ts";

/** A key with its value. */
export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/** Options for {@link BTree.batch}. */
export interface BatchOptions {
  /** Where to start; the first (or, reversed, last) key when omitted. */
  start?: Uint8Array;
  /** Include an entry equal to `start` (default true). */
  startInclusive?: boolean;
  /** Where to stop; no bound when omitted. */
  end?: Uint8Array;
  /** Include an entry equal to `end` (default false). */
  endInclusive?: boolean;
  /** Walk keys in descending order. */
  reverse?: boolean;
  /** At most this many entries (default 128). */
  limit?: number;
}

/** Shape figures from {@link BTree.check}. */
export interface TreeCheck {
  entries: number;
  depth: number;
  leaves: number;
  internals: number;
  overflowPages: number;
  /** Every block the tree uses (nodes and overflow pages). */
  blocks: Set<number>;
}

/** Raised for a key too long to index (SQLSTATE 54000, as PostgreSQL's "index row size"). */
export class KeyTooLongError extends ExoError {
  override name = "KeyTooLongError";
  constructor(length: number, max: number) {
    super("54000", `index row size ${length} exceeds maximum ${max} for index`);
  }
}

const overflowHeaderBytes = 40; // block header 32 + next u32 + payload length u32

interface PathStep {
  block: number;
  /** The child index taken in this internal node (-1 = leftmost). */
  index: number;
}

export class BTree {
  readonly store: PageStore;
  readonly root: number;
  readonly treeId: number;
  /** Longest key accepted, in bytes. */
  readonly keyBytesMax: number;
  /** Largest leaf cell kept inline (slot excluded); longer values go to overflow blocks. */
  readonly #cellBytesMax: number;
  readonly #pageBytes: number;

  constructor(store: PageStore, root: number, treeId: number) {
    this.store = store;
    this.root = root;
    this.treeId = treeId;
    this.#pageBytes = store.blockSizeBytes - nodeHeaderBytes;
    this.#cellBytesMax = Math.floor(this.#pageBytes / 4) - 2;
    this.keyBytesMax = Math.floor(this.#pageBytes / 8);
  }

  /** Creates an empty tree: one leaf that is the root for good. */
  static create(store: PageStore, treeId: number): BTree {
    const guard = store.allocate(BlockType.btreeLeaf);
    try {
      new Node(guard.bytes).init(0, treeId);
      store.changed(guard, { kind: "image" });
      return new BTree(store, guard.blockNumber, treeId);
    } finally {
      guard.release();
    }
  }

  /** The value stored under `key` (a copy), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    let guard = this.store.pin(this.root);
    try {
      let node = new Node(guard.bytes);
      while (!node.isLeaf) {
        const child = node.childFor(key);
        guard.release();
        guard = this.store.pin(child);
        node = new Node(guard.bytes);
      }
      const { slot, found } = node.search(key);
      if (!found) return undefined;
      return this.#valueOf(node, slot);
    } finally {
      guard[Symbol.dispose](); // idempotent: a failed pin may follow a release
    }
  }

  /**
   * Calls `visit` with each entry whose key starts with `prefix`, in key order, until it
   * returns false. Keys and inline values are views into the pinned page, valid only during
   * the call (no copies: the point-lookup path); overflow values are materialized.
   */
  visitPrefix(prefix: Uint8Array, visit: (key: Uint8Array, value: Uint8Array) => boolean): void {
    this.visitFrom(prefix, true, (key, value) => {
      if (key.length < prefix.length) return false;
      for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
      return visit(key, value);
    });
  }

  /** Inserts or replaces the value under `key`. Returns true when the key was new. */
  put(key: Uint8Array, value: Uint8Array): boolean {
    this.#checkKey(key);
    const overflow = 4 + key.length + value.length > this.#cellBytesMax;
    const stored = overflow ? this.#writeOverflow(value) : value;
    const path: PathStep[] = [];
    const leaf = this.#descend(key, path);
    try {
      const node = new Node(leaf.bytes);
      const { slot, found } = node.search(key);
      if (found) {
        this.#freeOverflowOf(node, slot);
        node.remove(slot);
      }
      const cellBytes = 4 + key.length + stored.length;
      if (node.fits(cellBytes)) {
        node.insertLeaf(slot, key, stored, overflow);
        this.store.changed(leaf, { kind: "leafPut", key, value: stored, overflow });
        return !found;
      }
      const cells = node.cellsBetween(0, node.count);
      cells.splice(slot, 0, leafCell(key, stored, overflow));
      // A key above every key of the tree (an ascending load) starts a new rightmost leaf and
      // leaves this one filled to appendFillFraction, instead of two half-full leaves that never
      // fill again — and not to the brim either, or the first later version of any of its rows
      // (every UPDATE adds one) would split it at once.
      const appending = slot === node.count && node.right === 0 && leaf.blockNumber !== this.root;
      this.#splitAndPromote(
        leaf,
        cells,
        path,
        appending ? fillSplit(cells, this.#pageBytes * appendFillFraction) : undefined,
      );
      return !found;
    } finally {
      leaf[Symbol.dispose]();
    }
  }

  /** Removes `key`. Returns true when it was present. */
  delete(key: Uint8Array): boolean {
    if (key.length > this.keyBytesMax) return false;
    const path: PathStep[] = [];
    const leaf = this.#descend(key, path);
    try {
      const node = new Node(leaf.bytes);
      const { slot, found } = node.search(key);
      if (!found) return false;
      this.#freeOverflowOf(node, slot);
      node.remove(slot);
      if (path.length === 0 || node.usedBytes() >= this.#pageBytes / 4) {
        this.store.changed(leaf, { kind: "leafDelete", key });
        return true;
      }
      this.store.changed(leaf, { kind: "image" });
      this.#rebalance(leaf, path);
      return true;
    } finally {
      leaf[Symbol.dispose](); // a merge may have freed (and so released) it already
    }
  }

  /**
   * Visits entries in ascending key order from `start` (inclusive unless told otherwise) until
   * `visit` returns false or the tree ends. Keys and values are views into pinned pages, valid
   * only during the call: `visit` copies what it keeps and must not change the tree.
   */
  visitFrom(
    start: Uint8Array | undefined,
    startInclusive: boolean,
    visit: (key: Uint8Array, value: Uint8Array) => boolean,
  ): void {
    let guard = this.#leafFor(start, false);
    try {
      let node = new Node(guard.bytes);
      let slot = 0;
      if (start !== undefined) {
        const found = node.search(start);
        slot = found.found && !startInclusive ? found.slot + 1 : found.slot;
      }
      for (;;) {
        if (slot >= node.count) {
          const next = node.right;
          if (next === 0) return;
          guard.release();
          guard = this.store.pin(next);
          node = new Node(guard.bytes);
          slot = 0;
          continue;
        }
        const inline = node.value(slot);
        const value = node.valueField(slot) & overflowFlag ? this.#readOverflow(inline) : inline;
        if (!visit(node.key(slot), value)) return;
        slot++;
      }
    } finally {
      guard[Symbol.dispose](); // idempotent: a failed pin may follow a release
    }
  }

  /**
   * Up to `limit` entries in key order (or reverse) from `start`, copied out. Continue with the
   * last key as `start` and `startInclusive: false`; changes between calls are fine.
   */
  batch(options: BatchOptions = {}): Entry[] {
    const limit = options.limit ?? 128;
    const reverse = options.reverse ?? false;
    const out: Entry[] = [];
    let guard = this.#leafFor(options.start, reverse);
    try {
      let node = new Node(guard.bytes);
      let slot: number;
      if (options.start === undefined) slot = reverse ? node.count - 1 : 0;
      else {
        const found = node.search(options.start);
        const inclusive = options.startInclusive ?? true;
        if (reverse) slot = found.found && inclusive ? found.slot : found.slot - 1;
        else slot = found.found && !inclusive ? found.slot + 1 : found.slot;
      }
      while (out.length < limit) {
        if (slot < 0 || slot >= node.count) {
          const next = reverse ? node.left : node.right;
          if (next === 0) break;
          guard.release();
          guard = this.store.pin(next);
          node = new Node(guard.bytes);
          slot = reverse ? node.count - 1 : 0;
          continue;
        }
        const key = node.key(slot);
        if (options.end !== undefined) {
          const c = compareKeys(key, options.end);
          const inclusive = options.endInclusive ?? false;
          if (reverse ? c < 0 || (c === 0 && !inclusive) : c > 0 || (c === 0 && !inclusive)) break;
        }
        out.push({ key: key.slice(), value: this.#valueOf(node, slot) });
        slot += reverse ? -1 : 1;
      }
    } finally {
      guard[Symbol.dispose](); // idempotent: a failed pin may follow a release
    }
    return out;
  }

  /** Frees every page of the tree, root included. */
  drop(): void {
    const visit = (block: number) => {
      const guard = this.store.pin(block);
      const node = new Node(guard.bytes);
      if (node.isLeaf) {
        for (let slot = 0; slot < node.count; slot++) this.#freeOverflowOf(node, slot);
      } else {
        visit(node.leftmost);
        for (let slot = 0; slot < node.count; slot++) visit(node.child(slot));
      }
      this.store.free(guard);
      this.store.splitGroup(); // one group per freed page: a big tree never makes a huge group
    };
    visit(this.root);
  }

  /**
   * Walks the whole tree and asserts every invariant: key order inside nodes and across
   * separators, equal leaf depth, sibling links, tree ids, no shared pages. Throws
   * AssertionError naming the block on the first violation.
   */
  check(): TreeCheck {
    const seen = new Set<number>();
    const result: TreeCheck = {
      entries: 0,
      depth: 0,
      leaves: 0,
      internals: 0,
      overflowPages: 0,
      blocks: seen,
    };
    const leaves: number[] = [];
    const visit = (
      block: number,
      low: Uint8Array | undefined,
      high: Uint8Array | undefined,
      depth: number,
    ) => {
      assert(!seen.has(block), `block ${block} reached twice`);
      seen.add(block);
      const guard = this.store.pin(block);
      try {
        const node = new Node(guard.bytes);
        assert(node.treeId === this.treeId, `block ${block} belongs to tree ${node.treeId}`);
        assert(
          node.cellStart >= nodeHeaderBytes + node.count * 2,
          `block ${block}: slots overlap cells`,
        );
        for (let slot = 0; slot < node.count; slot++) {
          const key = node.key(slot);
          if (slot > 0) {
            assert(
              compareKeys(node.key(slot - 1), key) < 0,
              `block ${block}: keys out of order at ${slot}`,
            );
          }
          if (low !== undefined) {
            assert(compareKeys(key, low) >= 0, `block ${block}: key below its separator`);
          }
          if (high !== undefined) {
            assert(compareKeys(key, high) < 0, `block ${block}: key above its separator`);
          }
        }
        if (block !== this.root) {
          assert(node.count > 0 || !node.isLeaf, `block ${block}: empty leaf`);
        }
        if (node.isLeaf) {
          assert(
            guard.bytes[4] === BlockType.btreeLeaf,
            `block ${block}: leaf with wrong block type`,
          );
          if (result.depth === 0) result.depth = depth;
          assert(result.depth === depth, `block ${block}: leaves at different depths`);
          result.leaves++;
          result.entries += node.count;
          leaves.push(block);
          for (let slot = 0; slot < node.count; slot++) {
            if (node.valueField(slot) & overflowFlag) {
              result.overflowPages += this.#checkOverflow(node.value(slot), seen);
            }
          }
          return;
        }
        assert(
          guard.bytes[4] === BlockType.btreeInternal,
          `block ${block}: internal with wrong block type`,
        );
        result.internals++;
        visit(node.leftmost, low, node.count > 0 ? node.key(0).slice() : high, depth + 1);
        for (let slot = 0; slot < node.count; slot++) {
          const next = slot + 1 < node.count ? node.key(slot + 1).slice() : high;
          visit(node.child(slot), node.key(slot).slice(), next, depth + 1);
        }
      } finally {
        guard.release();
      }
    };
    visit(this.root, undefined, undefined, 1);
    for (let i = 0; i < leaves.length; i++) {
      const guard = this.store.pin(leaves[i]!);
      const node = new Node(guard.bytes);
      assert(node.left === (leaves[i - 1] ?? 0), `leaf ${leaves[i]}: left link ${node.left}`);
      assert(node.right === (leaves[i + 1] ?? 0), `leaf ${leaves[i]}: right link ${node.right}`);
      guard.release();
    }
    return result;
  }

  #checkKey(key: Uint8Array): void {
    if (key.length > this.keyBytesMax) throw new KeyTooLongError(key.length, this.keyBytesMax);
  }

  #descend(key: Uint8Array, path: PathStep[]): PageGuard {
    let guard = this.store.pin(this.root);
    let node = new Node(guard.bytes);
    while (!node.isLeaf) {
      const index = node.childIndexFor(key);
      path.push({ block: guard.blockNumber, index });
      const child = index < 0 ? node.leftmost : node.child(index);
      guard.release();
      guard = this.store.pin(child);
      node = new Node(guard.bytes);
    }
    return guard;
  }

  #leafFor(key: Uint8Array | undefined, reverse: boolean): PageGuard {
    let guard = this.store.pin(this.root);
    let node = new Node(guard.bytes);
    while (!node.isLeaf) {
      let child: number;
      if (key !== undefined) child = node.childFor(key);
      else if (reverse) child = node.count > 0 ? node.child(node.count - 1) : node.leftmost;
      else child = node.leftmost;
      guard.release();
      guard = this.store.pin(child);
      node = new Node(guard.bytes);
    }
    return guard;
  }

  #valueOf(node: Node, slot: number): Uint8Array {
    const inline = node.value(slot);
    if (!(node.valueField(slot) & overflowFlag)) return inline.slice();
    return this.#readOverflow(inline);
  }

  /**
   * Splits the node behind `guard`, whose cells after the change are `cells`, and promotes the
   * separator into the parent (recursively). A root split keeps the root block.
   */
  #splitAndPromote(
    guard: PageGuard,
    cells: Uint8Array[],
    path: PathStep[],
    leafSplitAt?: number,
  ): void {
    crashPoint("btree-split");
    const node = new Node(guard.bytes);
    const leaf = node.isLeaf;
    if (guard.blockNumber === this.root) {
      this.#splitRoot(guard, cells);
      return;
    }
    const right = this.store.allocate(leaf ? BlockType.btreeLeaf : BlockType.btreeInternal);
    try {
      const rightNode = new Node(right.bytes);
      rightNode.init(node.level, this.treeId);
      const separator = this.#distribute(node, rightNode, cells, leafSplitAt);
      if (leaf) this.#linkRight(guard, node, right, rightNode);
      this.store.changed(guard, { kind: "image" });
      this.store.changed(right, { kind: "image" });
      this.#insertSeparator(path, separator, right.blockNumber);
    } finally {
      right.release();
    }
  }

  /**
   * Fills `left` and `right` from `cells`, split by bytes (or, for a leaf, at `leafSplitAt`);
   * returns the separator for `right`.
   */
  #distribute(left: Node, right: Node, cells: Uint8Array[], leafSplitAt?: number): Uint8Array {
    const leaf = left.isLeaf;
    const split = leaf && leafSplitAt !== undefined ? leafSplitAt : evenSplit(cells);
    if (leaf) {
      left.clearCells();
      left.appendCells(cells.slice(0, split));
      right.appendCells(cells.slice(split));
      return shortestSeparator(cellKey(cells[split - 1]!, true), cellKey(cells[split]!, true));
    }
    // Internal: the middle cell moves up; its child becomes the right node's leftmost.
    const middle = cells[split]!;
    const leftmost = left.leftmost;
    left.clearCells();
    left.leftmost = leftmost;
    left.appendCells(cells.slice(0, split));
    right.leftmost = cellChild(middle);
    right.appendCells(cells.slice(split + 1));
    return cellKey(middle, false).slice();
  }

  #linkRight(guard: PageGuard, node: Node, right: PageGuard, rightNode: Node): void {
    const oldRight = node.right;
    rightNode.right = oldRight;
    rightNode.left = guard.blockNumber;
    node.right = right.blockNumber;
    if (oldRight !== 0) {
      const neighbor = this.store.pin(oldRight);
      try {
        new Node(neighbor.bytes).left = right.blockNumber;
        this.store.changed(neighbor, { kind: "image" });
      } finally {
        neighbor.release();
      }
    }
  }

  #splitRoot(root: PageGuard, cells: Uint8Array[]): void {
    const node = new Node(root.bytes);
    const level = node.level;
    const type = level === 0 ? BlockType.btreeLeaf : BlockType.btreeInternal;
    const left = this.store.allocate(type);
    const right = this.store.allocate(type);
    try {
      const leftNode = new Node(left.bytes);
      const rightNode = new Node(right.bytes);
      leftNode.init(level, this.treeId);
      rightNode.init(level, this.treeId);
      leftNode.leftmost = node.leftmost;
      const separator = this.#distribute(leftNode, rightNode, cells);
      if (level === 0) {
        leftNode.right = right.blockNumber;
        rightNode.left = left.blockNumber;
      }
      node.init(level + 1, this.treeId);
      root.bytes[4] = BlockType.btreeInternal;
      node.leftmost = left.blockNumber;
      node.insertInternal(0, separator, right.blockNumber);
      this.store.changed(left, { kind: "image" });
      this.store.changed(right, { kind: "image" });
      this.store.changed(root, { kind: "image" });
    } finally {
      left.release();
      right.release();
    }
  }

  #insertSeparator(path: PathStep[], separator: Uint8Array, child: number): void {
    const step = path.pop();
    assert(step !== undefined, "a non-root node has a parent");
    const parent = this.store.pin(step.block);
    try {
      const node = new Node(parent.bytes);
      const slot = step.index + 1;
      if (node.fits(6 + separator.length)) {
        node.insertInternal(slot, separator, child);
        this.store.changed(parent, { kind: "image" });
        return;
      }
      const cells = node.cellsBetween(0, node.count);
      cells.splice(slot, 0, internalCell(separator, child));
      this.#splitAndPromote(parent, cells, path);
    } finally {
      parent.release();
    }
  }

  /** Restores the fill of an underfull non-root node by merging or redistributing. */
  #rebalance(guard: PageGuard, path: PathStep[]): void {
    const step = path.pop();
    if (step === undefined) return;
    const parent = this.store.pin(step.block);
    try {
      const parentNode = new Node(parent.bytes);
      // Pair the node with its right sibling under this parent, or its left one when last.
      const useRight = step.index + 1 < parentNode.count;
      const separatorSlot = useRight ? step.index + 1 : step.index;
      if (separatorSlot < 0) return; // an only child: nothing to pair with
      const leftBlock = separatorSlot - 1 < 0
        ? parentNode.leftmost
        : parentNode.child(separatorSlot - 1);
      const rightBlock = parentNode.child(separatorSlot);
      const left = useRight ? guard : this.store.pin(leftBlock);
      const right = useRight ? this.store.pin(rightBlock) : guard;
      try {
        this.#rebalancePair(parent, parentNode, separatorSlot, left, right, path);
      } finally {
        if (left !== guard) left[Symbol.dispose]();
        if (right !== guard) right[Symbol.dispose]();
      }
    } finally {
      // Idempotent: a cascade may have merged the parent into its left sibling one level up,
      // and freeing it released this guard already.
      parent[Symbol.dispose]();
    }
  }

  #rebalancePair(
    parent: PageGuard,
    parentNode: Node,
    separatorSlot: number,
    left: PageGuard,
    right: PageGuard,
    path: PathStep[],
  ): void {
    const leftNode = new Node(left.bytes);
    const rightNode = new Node(right.bytes);
    const leaf = leftNode.isLeaf;
    const separator = parentNode.key(separatorSlot).slice();
    const bridge = leaf ? [] : [internalCell(separator, rightNode.leftmost)];
    const merged = [
      ...leftNode.cellsBetween(0, leftNode.count),
      ...bridge,
      ...rightNode.cellsBetween(0, rightNode.count),
    ];
    const mergedBytes = merged.reduce((sum, c) => sum + c.length + 2, 0);
    if (mergedBytes <= this.#pageBytes) {
      const leftmost = leftNode.leftmost;
      leftNode.clearCells();
      leftNode.leftmost = leftmost;
      leftNode.appendCells(merged);
      if (leaf) {
        leftNode.right = rightNode.right;
        if (rightNode.right !== 0) {
          const neighbor = this.store.pin(rightNode.right);
          try {
            new Node(neighbor.bytes).left = left.blockNumber;
            this.store.changed(neighbor, { kind: "image" });
          } finally {
            neighbor.release();
          }
        }
      }
      this.store.changed(left, { kind: "image" });
      parentNode.remove(separatorSlot);
      this.store.changed(parent, { kind: "image" });
      this.store.free(right);
      this.#afterParentShrank(parent, parentNode, path);
      return;
    }
    // Too much for one node: share the cells evenly instead. For leaves the separator is the
    // shortest key between the halves; for internal nodes the middle cell (the old separator
    // having come down as the bridge) moves up and its child becomes the right's leftmost —
    // without this an internal node could keep a single child and its leaf empty out.
    const split = evenSplit(merged);
    const separatorNew = leaf
      ? shortestSeparator(cellKey(merged[split - 1]!, true), cellKey(merged[split]!, true))
      : cellKey(merged[split]!, false).slice();
    // The new separator replaces the old one; when it is longer and the parent has no room,
    // leave both nodes as they are (underfull is allowed, wrong separators are not).
    const separatorCellBytes = 6 + separator.length;
    if (parentNode.freeBytes() + separatorCellBytes + 2 < 6 + separatorNew.length + 2) return;
    const leftmost = leftNode.leftmost;
    leftNode.clearCells();
    leftNode.appendCells(merged.slice(0, split));
    rightNode.clearCells();
    if (leaf) rightNode.appendCells(merged.slice(split));
    else {
      leftNode.leftmost = leftmost;
      rightNode.leftmost = cellChild(merged[split]!);
      rightNode.appendCells(merged.slice(split + 1));
    }
    parentNode.remove(separatorSlot);
    parentNode.insertInternal(separatorSlot, separatorNew, right.blockNumber);
    this.store.changed(left, { kind: "image" });
    this.store.changed(right, { kind: "image" });
    this.store.changed(parent, { kind: "image" });
  }

  #afterParentShrank(parent: PageGuard, parentNode: Node, path: PathStep[]): void {
    if (parent.blockNumber === this.root) {
      if (parentNode.count === 0 && !parentNode.isLeaf) this.#collapseRoot(parent, parentNode);
      return;
    }
    if (parentNode.usedBytes() < this.#pageBytes / 4) this.#rebalance(parent, path);
  }

  /** The root has one child left: pull the child's contents up into the root block. */
  #collapseRoot(root: PageGuard, rootNode: Node): void {
    const child = this.store.pin(rootNode.leftmost);
    root.bytes.set(child.bytes.subarray(4), 4); // everything but the checksum
    rootNode.left = 0;
    rootNode.right = 0;
    this.store.changed(root, { kind: "image" });
    this.store.free(child);
  }

  #writeOverflow(value: Uint8Array): Uint8Array {
    const payloadBytes = this.store.blockSizeBytes - overflowHeaderBytes;
    let next = 0;
    // Written back to front so each page can point at the one after it.
    const pages = Math.ceil(value.length / payloadBytes);
    for (let page = pages - 1; page >= 0; page--) {
      const guard = this.store.allocate(BlockType.overflow);
      try {
        const view = new DataView(
          guard.bytes.buffer,
          guard.bytes.byteOffset,
          guard.bytes.byteLength,
        );
        const chunk = value.subarray(
          page * payloadBytes,
          Math.min(value.length, (page + 1) * payloadBytes),
        );
        view.setUint32(32, next, true);
        view.setUint32(36, chunk.length, true);
        guard.bytes.set(chunk, overflowHeaderBytes);
        this.store.changed(guard, { kind: "image" });
        next = guard.blockNumber;
      } finally {
        guard.release();
      }
      this.store.splitGroup(); // an unreferenced chain after a crash is leaked space, never damage
    }
    const ref = new Uint8Array(overflowRefBytes);
    const view = new DataView(ref.buffer);
    view.setUint32(0, value.length, true);
    view.setUint32(4, next, true);
    return ref;
  }

  #readOverflow(ref: Uint8Array): Uint8Array {
    const view = new DataView(ref.buffer, ref.byteOffset, ref.byteLength);
    const total = view.getUint32(0, true);
    const out = new Uint8Array(total);
    let block = view.getUint32(4, true);
    let at = 0;
    while (at < total) {
      assert(block !== 0, "overflow chain ends early");
      const guard = this.store.pin(block);
      try {
        const page = new DataView(
          guard.bytes.buffer,
          guard.bytes.byteOffset,
          guard.bytes.byteLength,
        );
        const length = page.getUint32(36, true);
        out.set(guard.bytes.subarray(overflowHeaderBytes, overflowHeaderBytes + length), at);
        at += length;
        block = page.getUint32(32, true);
      } finally {
        guard.release();
      }
    }
    return out;
  }

  #freeOverflowOf(node: Node, slot: number): void {
    if (!(node.valueField(slot) & overflowFlag)) return;
    const ref = node.value(slot);
    let block = new DataView(ref.buffer, ref.byteOffset, ref.byteLength).getUint32(4, true);
    while (block !== 0) {
      const guard = this.store.pin(block);
      block = new DataView(guard.bytes.buffer, guard.bytes.byteOffset).getUint32(32, true);
      this.store.free(guard);
    }
  }

  #checkOverflow(ref: Uint8Array, seen: Set<number>): number {
    const view = new DataView(ref.buffer, ref.byteOffset, ref.byteLength);
    let remaining = view.getUint32(0, true);
    let block = view.getUint32(4, true);
    let pages = 0;
    while (remaining > 0) {
      assert(block !== 0 && !seen.has(block), `overflow block ${block} missing or shared`);
      seen.add(block);
      const guard = this.store.pin(block);
      try {
        assert(guard.bytes[4] === BlockType.overflow, `block ${block} is not an overflow block`);
        const page = new DataView(
          guard.bytes.buffer,
          guard.bytes.byteOffset,
          guard.bytes.byteLength,
        );
        remaining -= page.getUint32(36, true);
        block = page.getUint32(32, true);
        pages++;
      } finally {
        guard.release();
      }
    }
    assert(remaining === 0 && block === 0, "overflow chain length matches its value");
    return pages;
  }
}

/** Where to cut `cells` so both sides hold about half the bytes (each side non-empty). */
/**
 * How full an ascending load leaves each leaf: 90%, PostgreSQL's B-tree leaf fillfactor. The
 * rest takes later versions of the leaf's rows (an UPDATE adds one beside the old) without a split.
 */
const appendFillFraction = 0.9;

/** The split index that puts at most `leftBytes` of `cells` (slots included) on the left. */
function fillSplit(cells: readonly Uint8Array[], leftBytes: number): number {
  let split = 0;
  let bytes = 0;
  while (split < cells.length - 1 && bytes + cells[split]!.length + 2 <= leftBytes) {
    bytes += cells[split]!.length + 2;
    split++;
  }
  return split === 0 ? 1 : split;
}

function evenSplit(cells: readonly Uint8Array[]): number {
  assert(cells.length >= 2, "a split needs two cells");
  return fillSplit(cells, cells.reduce((sum, c) => sum + c.length + 2, 0) / 2);
}

function leafCell(key: Uint8Array, value: Uint8Array, overflow: boolean): Uint8Array {
  const cell = new Uint8Array(4 + key.length + value.length);
  const view = new DataView(cell.buffer);
  view.setUint16(0, key.length, true);
  view.setUint16(2, overflow ? overflowFlag : value.length, true);
  cell.set(key, 4);
  cell.set(value, 4 + key.length);
  return cell;
}

function internalCell(key: Uint8Array, child: number): Uint8Array {
  const cell = new Uint8Array(6 + key.length);
  const view = new DataView(cell.buffer);
  view.setUint16(0, key.length, true);
  view.setUint32(2, child, true);
  cell.set(key, 6);
  return cell;
}

function cellKey(cell: Uint8Array, leaf: boolean): Uint8Array {
  const length = cell[0]! | (cell[1]! << 8);
  const offset = leaf ? 4 : 6;
  return cell.subarray(offset, offset + length);
}

function cellChild(cell: Uint8Array): number {
  return new DataView(cell.buffer, cell.byteOffset, cell.byteLength).getUint32(2, true);
}

/** The shortest prefix of `high` that is still greater than `low` (low < high). */
function shortestSeparator(low: Uint8Array, high: Uint8Array): Uint8Array {
  let common = 0;
  while (common < low.length && common < high.length && low[common] === high[common]) common++;
  return high.slice(0, Math.min(high.length, common + 1));
}
