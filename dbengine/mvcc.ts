/**
 * Multi-version rows in one B+tree. Every write adds a version under `key ‖ inverted stamp`, so
 * the versions of one key sit together, newest first:
 *
 * | tree key                          | tree value                                          |
 * |-----------------------------------|-----------------------------------------------------|
 * | key ‖ u64 BE (2^64 − 1 − stamp)   | flags u8 (bit 0 tombstone) ‖ writer u48 LE ‖ cid u32 LE ‖ row |
 *
 * The stamp of a new version is one more than the newest existing version of the key, so
 * version order is write order; writes to one key are serialized by the lock rule below.
 *
 * Rules:
 * 1. Readers take, per key, the newest version visible to their snapshot (txn.ts); a visible
 *    tombstone means "no row".
 * 2. A writer may add a version only when the newest live version is committed or its own:
 *    if a running transaction wrote it, the writer waits for that transaction to end and
 *    looks again (row-level write lock). Versions of rolled-back writers are skipped.
 * 3. Every added version registers an undo step (delete that exact tree key) with its writer.
 * 4. Keys must be self-delimiting (key_codec.ts), so `key ‖ 8 bytes` belongs to `key` alone.
 * 5. Vacuum work arises only where a key gets a second version (update, delete, insert over a
 *    tombstone) or a writer never finished (crash losers, found at boot). Such keys are noted
 *    per tree (shared by every handle on it); a pass visits only them, and walks the whole tree
 *    when the store was just opened or too many keys were noted.
 */
import { assert } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import type { BTree, Entry } from "./btree/btree.ts";
import { compareKeys, prefixEnd } from "./key_codec.ts";
import type { Transaction, TransactionManager, TxnLog } from "./txn.ts";

const stampBytes = 8;
const headerBytes = 11;
const tombstoneFlag = 1;

/** SQLSTATE 23505: a row with this key already exists. */
export class UniqueViolationError extends ExoError {
  override name = "UniqueViolationError";
  /** The violated constraint (primary key or unique index name). */
  readonly constraint: string;
  constructor(what: string) {
    super("23505", `duplicate key value violates unique constraint "${what}"`);
    this.constraint = what;
  }
}

/** A decoded version. */
export interface Version {
  stamp: bigint;
  writer: number;
  cid: number;
  tombstone: boolean;
  row: Uint8Array;
}

/** A visible row with its key. */
export interface VisibleRow {
  key: Uint8Array;
  row: Uint8Array;
}

/** Options for {@link VersionedTree.scan}. */
export interface ScanOptions {
  start?: Uint8Array;
  startInclusive?: boolean;
  end?: Uint8Array;
  endInclusive?: boolean;
  reverse?: boolean;
  /** At most this many rows. */
  limit?: number;
}

function versionKey(key: Uint8Array, stamp: bigint): Uint8Array {
  const out = new Uint8Array(key.length + stampBytes);
  out.set(key);
  new DataView(out.buffer).setBigUint64(key.length, 0xffff_ffff_ffff_ffffn - stamp);
  return out;
}

function decodeVersion(entry: Entry, keyLength: number): Version {
  const keyView = new DataView(entry.key.buffer, entry.key.byteOffset, entry.key.byteLength);
  const value = entry.value;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    stamp: 0xffff_ffff_ffff_ffffn - keyView.getBigUint64(keyLength),
    tombstone: (value[0]! & tombstoneFlag) !== 0,
    writer: view.getUint32(1, true) + view.getUint16(5, true) * 0x1_0000_0000,
    cid: view.getUint32(7, true),
    row: value.subarray(headerBytes),
  };
}

function encodeValue(writer: number, cid: number, row: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(headerBytes + (row?.length ?? 0));
  const view = new DataView(out.buffer);
  out[0] = row === null ? tombstoneFlag : 0;
  view.setUint32(1, writer >>> 0, true);
  view.setUint16(5, Math.floor(writer / 0x1_0000_0000), true);
  view.setUint32(7, cid, true);
  if (row !== null) out.set(row, headerBytes);
  return out;
}

/** Keys of one tree that may hold removable versions (rule 5). */
interface DirtyKeys {
  /** The next pass must walk the whole tree. */
  full: boolean;
  /** Noted keys, by their bytes as a latin-1 string. */
  keys: Map<string, Uint8Array>;
}

/** Beyond this many noted keys a tree gets a whole-tree pass instead. */
const dirtyKeysMax = 200_000;

/** Per store (one mounted engine), per tree root block: the noted keys. */
const dirtyByStore = new WeakMap<object, Map<number, DirtyKeys>>();

function dirtyKeysOf(tree: BTree): DirtyKeys {
  let byRoot = dirtyByStore.get(tree.store);
  if (byRoot === undefined) {
    byRoot = new Map();
    dirtyByStore.set(tree.store, byRoot);
  }
  let dirty = byRoot.get(tree.root);
  if (dirty === undefined) {
    // Unknown since the store opened: recovery may have left loser versions anywhere.
    dirty = { full: true, keys: new Map() };
    byRoot.set(tree.root, dirty);
  }
  return dirty;
}

/**
 * Marks `tree`, created since the store opened, as holding nothing for vacuum: only versions
 * written from now on can leave garbage, and those are noted (rule 5).
 */
export function markTreeNew(tree: BTree): void {
  const dirty = dirtyKeysOf(tree);
  dirty.full = false;
  dirty.keys.clear();
}

function keyString(key: Uint8Array): string {
  let out = "";
  for (let i = 0; i < key.length; i++) out += String.fromCharCode(key[i]!);
  return out;
}

/** What {@link VersionedTree.write} should do. */
export type WriteMode = "insert" | "upsert" | "update" | "delete";

export class VersionedTree {
  readonly tree: BTree;
  readonly #txns: TransactionManager;
  readonly #log: TxnLog;
  /** Name used in unique-violation messages. */
  readonly constraintName: string;

  readonly #dirty: DirtyKeys;

  constructor(tree: BTree, txns: TransactionManager, log: TxnLog, constraintName: string) {
    this.tree = tree;
    this.#txns = txns;
    this.#log = log;
    this.constraintName = constraintName;
    this.#dirty = dirtyKeysOf(tree);
  }

  /** True when a vacuum pass may find something to remove (rule 5). */
  needsVacuum(): boolean {
    return this.#dirty.full || this.#dirty.keys.size > 0;
  }

  /** Notes `key` for the next vacuum pass (rule 5). */
  #noteDirty(key: Uint8Array): void {
    const dirty = this.#dirty;
    if (dirty.full) return;
    if (dirty.keys.size >= dirtyKeysMax) {
      dirty.full = true;
      dirty.keys.clear();
      return;
    }
    const name = keyString(key);
    if (!dirty.keys.has(name)) dirty.keys.set(name, key.slice());
  }

  /** Every version of `key`, newest first (all writers). */
  versions(key: Uint8Array): Version[] {
    const out: Version[] = [];
    let start: Uint8Array | undefined = key;
    for (;;) {
      const batch: Entry[] = this.tree.batch({
        start: start!,
        startInclusive: start === key,
        ...(prefixEnd(key) ? { end: prefixEnd(key)! } : {}),
        limit: 32,
      });
      for (const entry of batch) {
        if (entry.key.length === key.length + stampBytes) {
          out.push(decodeVersion(entry, key.length));
        }
      }
      if (batch.length < 32) return out;
      start = batch[batch.length - 1]!.key;
    }
  }

  /** The row under `key` visible to `reader` at `snapshot` (a copy), or null. */
  get(key: Uint8Array, reader: Transaction | undefined, snapshot: number): Uint8Array | null {
    // The hot point-lookup path: walk the versions in place, copy only the visible row.
    let result: Uint8Array | null = null;
    const txns = this.#txns;
    this.tree.visitPrefix(key, (treeKey, value) => {
      if (treeKey.length !== key.length + stampBytes) return true;
      const writer = (value[1]! | (value[2]! << 8) | (value[3]! << 16)) + value[4]! * 0x100_0000 +
        (value[5]! | (value[6]! << 8)) * 0x1_0000_0000;
      const cid = (value[7]! | (value[8]! << 8) | (value[9]! << 16)) + value[10]! * 0x100_0000;
      if (!txns.visible(writer, cid, reader, snapshot)) return true;
      if ((value[0]! & tombstoneFlag) === 0) result = value.slice(headerBytes);
      return false;
    });
    return result;
  }

  /**
   * Visible rows in key order (or reverse) within the bounds; at most `limit`. Continue from
   * the last key with `startInclusive: false`.
   */
  scan(reader: Transaction | undefined, snapshot: number, options: ScanOptions = {}): VisibleRow[] {
    const limit = options.limit ?? 256;
    const reverse = options.reverse ?? false;
    const out: VisibleRow[] = [];
    // Tree positions are version keys; a bound on row keys becomes a bound on version keys:
    // every version of key k lies in [k, prefixEnd(k)).
    let cursor: Uint8Array | undefined;
    let cursorInclusive = true;
    if (options.start !== undefined) {
      const inclusive = options.startInclusive ?? true;
      if (reverse) {
        cursor = inclusive ? prefixEnd(options.start) : options.start;
        cursorInclusive = false;
      } else {
        cursor = inclusive ? options.start : prefixEnd(options.start);
        cursorInclusive = true;
      }
    }
    if (!reverse) return this.#scanForward(reader, snapshot, cursor, options, limit);
    let pendingKey: Uint8Array | undefined; // reverse scans meet versions oldest first
    let pendingRow: Uint8Array | null = null;
    const flushPending = () => {
      if (pendingKey !== undefined && pendingRow !== null) {
        out.push({ key: pendingKey, row: pendingRow });
      }
      pendingKey = undefined;
      pendingRow = null;
    };
    let lastKey: Uint8Array | undefined;
    let lastDone = false;
    for (;;) {
      const batch = this.tree.batch({
        ...(cursor !== undefined ? { start: cursor, startInclusive: cursorInclusive } : {}),
        reverse,
        limit: 128,
      });
      for (const entry of batch) {
        const key = entry.key.subarray(0, entry.key.length - stampBytes);
        if (options.end !== undefined) {
          const c = compareKeys(key, options.end);
          const inclusive = options.endInclusive ?? false;
          if (reverse ? c < 0 || (c === 0 && !inclusive) : c > 0 || (c === 0 && !inclusive)) {
            if (reverse) flushPending();
            return out.slice(0, limit);
          }
        }
        if (
          options.start !== undefined && !(options.startInclusive ?? true) &&
          compareKeys(key, options.start) === 0
        ) continue;
        const version = decodeVersion(entry, key.length);
        if (!reverse) {
          // Forward: newest first within a key; the first visible version decides.
          if (lastKey !== undefined && compareKeys(lastKey, key) === 0) {
            if (lastDone) continue;
          } else {
            lastKey = key;
            lastDone = false;
          }
          if (this.#txns.visible(version.writer, version.cid, reader, snapshot)) {
            lastDone = true;
            if (!version.tombstone) out.push({ key: key.slice(), row: version.row });
            if (out.length >= limit) return out;
          }
        } else {
          // Reverse: oldest first within a key; the newest visible one (the last seen) decides.
          if (pendingKey === undefined || compareKeys(pendingKey, key) !== 0) {
            flushPending();
            if (out.length >= limit) return out;
            pendingKey = key.slice();
          }
          if (this.#txns.visible(version.writer, version.cid, reader, snapshot)) {
            pendingRow = version.tombstone ? null : version.row;
          }
        }
      }
      if (batch.length < 128) {
        if (reverse) flushPending();
        return out.slice(0, limit);
      }
      cursor = batch[batch.length - 1]!.key;
      cursorInclusive = false;
    }
  }

  /**
   * The forward scan, walked in place: versions are read where they lie and only the visible
   * row of each key (and its key) is copied out. Rule 1 per key: versions come newest first,
   * the first visible one decides.
   */
  #scanForward(
    reader: Transaction | undefined,
    snapshot: number,
    cursor: Uint8Array | undefined,
    options: ScanOptions,
    limit: number,
  ): VisibleRow[] {
    const out: VisibleRow[] = [];
    const txns = this.#txns;
    const end = options.end;
    const endInclusive = options.endInclusive ?? false;
    const skipStart = options.start !== undefined && !(options.startInclusive ?? true)
      ? options.start
      : undefined;
    let lastKey: Uint8Array | undefined; // a copy: the view dies with its page
    let lastDone = false;
    this.tree.visitFrom(cursor, true, (treeKey, value) => {
      const keyLength = treeKey.length - stampBytes;
      const key = treeKey.subarray(0, keyLength);
      if (end !== undefined) {
        const c = compareKeys(key, end);
        if (c > 0 || (c === 0 && !endInclusive)) return false;
      }
      if (skipStart !== undefined && compareKeys(key, skipStart) === 0) return true;
      if (lastKey !== undefined && compareKeys(lastKey, key) === 0) {
        if (lastDone) return true;
      } else {
        lastKey = key.slice();
        lastDone = false;
      }
      const writer = (value[1]! | (value[2]! << 8) | (value[3]! << 16)) + value[4]! * 0x100_0000 +
        (value[5]! | (value[6]! << 8)) * 0x1_0000_0000;
      const cid = (value[7]! | (value[8]! << 8) | (value[9]! << 16)) + value[10]! * 0x100_0000;
      if (!txns.visible(writer, cid, reader, snapshot)) return true;
      lastDone = true;
      if ((value[0]! & tombstoneFlag) === 0) {
        out.push({ key: lastKey, row: value.slice(headerBytes) });
        if (out.length >= limit) return false;
      }
      return true;
    });
    return out;
  }

  /**
   * Writes a new version of `key` for `txn`: `row` (or a tombstone when null), after waiting for
   * any running writer of the key (rule 2). `compute` sees the newest committed (or own) row
   * and returns the row to write, null to delete, or undefined to write nothing; it runs with
   * no await after the lock check, so nothing can slip in between.
   *
   * Returns what was there before (null for no row). Throws UniqueViolationError for an insert
   * over a live row.
   */
  async write(
    txn: Transaction,
    key: Uint8Array,
    mode: WriteMode,
    compute: (current: Uint8Array | null) => Uint8Array | null | undefined,
  ): Promise<{ before: Uint8Array | null; written: boolean }> {
    assert(txn.state === "active", "writes belong to an active transaction");
    for (;;) {
      // The newest version decides the stamp; the newest live one (own, or not rolled back)
      // decides the lock and the current row. Walked in place, copying only that row.
      let newestStamp = -1n;
      let current: { writer: number; tombstone: boolean; row: Uint8Array } | undefined;
      this.tree.visitPrefix(key, (treeKey, value) => {
        if (treeKey.length !== key.length + stampBytes) return true;
        if (newestStamp < 0n) {
          const view = new DataView(treeKey.buffer, treeKey.byteOffset, treeKey.byteLength);
          newestStamp = 0xffff_ffff_ffff_ffffn - view.getBigUint64(key.length);
        }
        const writer = (value[1]! | (value[2]! << 8) | (value[3]! << 16)) + value[4]! * 0x100_0000 +
          (value[5]! | (value[6]! << 8)) * 0x1_0000_0000;
        if (writer !== txn.id && this.#txns.isAborted(writer)) return true;
        current = {
          writer,
          tombstone: (value[0]! & tombstoneFlag) !== 0,
          row: value.slice(headerBytes),
        };
        return false;
      });
      if (newestStamp < 0n) newestStamp = 0n;
      const holder = current === undefined || current.writer === txn.id
        ? undefined
        : this.#txns.running(current.writer);
      if (holder !== undefined) {
        await this.#txns.waitFor(txn, holder); // then look again: it committed or rolled back
        continue;
      }
      const before = current === undefined || current.tombstone ? null : current.row;
      if (mode === "insert" && before !== null) throw new UniqueViolationError(this.constraintName);
      if ((mode === "update" || mode === "delete") && before === null) {
        return { before, written: false };
      }
      const next = compute(before);
      if (next === undefined) return { before, written: false };
      const treeKey = versionKey(key, newestStamp + 1n);
      this.#log.run(txn.id, () => this.tree.put(treeKey, encodeValue(txn.id, txn.cid, next)));
      // An older version exists: once this one commits it is garbage (rule 5).
      if (newestStamp > 0n) this.#noteDirty(key);
      txn.undo.push(() => {
        this.tree.delete(treeKey);
      });
      return { before, written: true };
    }
  }

  /**
   * Writes the first version of each of `rows` for `txn`: a bulk load in key order. Every key
   * must sort above every key in the tree and above the one before it, so no version of it
   * exists (no lock to wait for, no unique check, nothing for vacuum); violations throw before
   * anything is written. One page-change group and one undo step cover the whole batch, so
   * keep batches small enough for one group (a few hundred short rows).
   */
  appendNewKeys(txn: Transaction, rows: readonly { key: Uint8Array; row: Uint8Array }[]): void {
    assert(txn.state === "active", "writes belong to an active transaction");
    if (rows.length === 0) return;
    const last = this.tree.batch({ reverse: true, limit: 1 })[0]?.key;
    let previous = last?.subarray(0, last.length - stampBytes);
    const treeKeys = rows.map(({ key }) => {
      if (previous !== undefined && compareKeys(key, previous) <= 0) {
        throw new ExoError("22000", "bulk load keys must ascend above every key in the table");
      }
      previous = key;
      return versionKey(key, 1n);
    });
    this.#log.run(txn.id, () => {
      for (let i = 0; i < rows.length; i++) {
        this.tree.put(treeKeys[i]!, encodeValue(txn.id, txn.cid, rows[i]!.row));
      }
    });
    txn.undo.push(() => {
      for (const treeKey of treeKeys) this.tree.delete(treeKey);
    });
  }

  /**
   * Calls `visit` for every row version in tree order (per key newest first), tombstones
   * included, skipping those of rolled-back writers (CREATE INDEX indexes all the others).
   */
  forEachVersion(visit: (key: Uint8Array, version: Version) => void): void {
    let cursor: Uint8Array | undefined;
    for (;;) {
      const batch = this.tree.batch(
        cursor ? { start: cursor, startInclusive: false, limit: 256 } : { limit: 256 },
      );
      for (const entry of batch) {
        const keyLength = entry.key.length - stampBytes;
        const version = decodeVersion(entry, keyLength);
        if (this.#txns.isAborted(version.writer)) continue;
        visit(entry.key.subarray(0, keyLength), version);
      }
      if (batch.length < 256) return;
      cursor = batch[batch.length - 1]!.key;
    }
  }

  /**
   * Removes versions no snapshot can see any more: for each key, everything older than the
   * newest version every snapshot sees as committed, that version too when it is a tombstone,
   * and every version of a rolled-back writer. Returns how many versions were removed.
   */
  vacuum(txn: number): number {
    const dirty = this.#dirty;
    if (!dirty.full) return this.#vacuumNoted(txn);
    // A whole-tree pass: keys noted from here on are kept for the next pass, and keys whose
    // garbage is still visible to some snapshot are noted again as the walk meets them.
    dirty.full = false;
    dirty.keys.clear();
    let removed = 0;
    let cursor: Uint8Array | undefined;
    let currentKey: Uint8Array | undefined;
    let settled = false;
    /** Versions of `currentKey` the walk keeps, and whether the last one kept is a tombstone. */
    let kept = 0;
    let keptTombstone = false;
    const keyDone = () => {
      if (currentKey !== undefined && (kept > 1 || keptTombstone)) this.#noteDirty(currentKey);
    };
    for (;;) {
      const batch = this.tree.batch(
        cursor ? { start: cursor, startInclusive: false, limit: 256 } : { limit: 256 },
      );
      const doomed: Uint8Array[] = [];
      for (const entry of batch) {
        const key = entry.key.subarray(0, entry.key.length - stampBytes);
        const version = decodeVersion(entry, key.length);
        if (currentKey === undefined || compareKeys(currentKey, key) !== 0) {
          keyDone();
          currentKey = key.slice();
          settled = false;
          kept = 0;
          keptTombstone = false;
        }
        if (this.#txns.isAborted(version.writer)) {
          doomed.push(entry.key);
          continue;
        }
        if (settled) {
          doomed.push(entry.key);
          continue;
        }
        if (this.#txns.visibleToAll(version.writer)) {
          settled = true;
          if (version.tombstone) {
            doomed.push(entry.key);
            continue;
          }
        }
        kept++;
        keptTombstone = version.tombstone;
      }
      for (const key of doomed) this.#log.run(txn, () => this.tree.delete(key), true);
      removed += doomed.length;
      if (batch.length < 256) {
        keyDone();
        return removed;
      }
      cursor = batch[batch.length - 1]!.key;
    }
  }

  /**
   * The pass over noted keys only (rule 5), with the whole-tree rules applied per key: versions
   * older than the newest one every snapshot sees as committed go, that one too when it is a
   * tombstone, and so do versions of rolled-back writers. A key with garbage some snapshot
   * still sees stays noted.
   */
  #vacuumNoted(txn: number): number {
    const dirty = this.#dirty;
    const keys = [...dirty.keys.values()];
    dirty.keys.clear();
    let removed = 0;
    for (const key of keys) {
      const doomed: Uint8Array[] = [];
      let settled = false;
      let kept = 0;
      let keptTombstone = false;
      for (const version of this.versions(key)) {
        const treeKey = versionKey(key, version.stamp);
        if (this.#txns.isAborted(version.writer) || settled) {
          doomed.push(treeKey);
          continue;
        }
        if (this.#txns.visibleToAll(version.writer)) {
          settled = true;
          if (version.tombstone) {
            doomed.push(treeKey);
            continue;
          }
        }
        kept++;
        keptTombstone = version.tombstone;
      }
      for (const treeKey of doomed) this.#log.run(txn, () => this.tree.delete(treeKey), true);
      removed += doomed.length;
      if (kept > 1 || keptTombstone) this.#noteDirty(key);
    }
    return removed;
  }
}
