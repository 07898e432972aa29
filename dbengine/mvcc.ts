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
 *    tombstone) or a tombstone (even as its first version), or a writer never finished (crash
 *    losers, found at boot). Such keys are noted per tree (shared by every handle on it); a
 *    pass visits only them, and walks the whole tree when the store was just opened or too
 *    many keys were noted.
 * 6. Vacuum runs in steps ({@link VacuumPass.step}) that the caller may separate by yields, so
 *    statements run between them:
 *    - every version of one key is decided within one step, never across a yield; its dead
 *      versions are removed oldest first, at most `vacuumStepVersionsMax` per step (a hot row
 *      may hold tens of thousands), so a key may be half removed between steps. Readers cannot
 *      tell: every dead version lies below the newest version all snapshots see (or belongs to
 *      an aborted writer), a dead tombstone goes only after every version under it, and what is
 *      left of the key is noted again should the pass stop before the key is done;
 *    - the decision (`isAborted`, `visibleToAll`) is taken per key when the step reaches it;
 *      both only ever grow true, and a snapshot taken between steps sees every writer that
 *      `visibleToAll` already clears, so no live snapshot loses a version it can see;
 *    - a pass over noted keys takes each key off the notes as it decides it: a key noted again
 *      after that (or first noted during the pass) stays noted for the next pass;
 *    - the whole-tree walk keeps its cursor with the notes, shared by every pass on the tree:
 *      a pass that stops early (shutdown, cancel) leaves the walk for the next pass to resume;
 *      keys noted while a walk is under way stay noted for the pass after it.
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

// Stamps are written and read byte by byte, not through a DataView: a version key is short
// enough for V8 to keep on its heap, and asking for its `.buffer` would move it off (a calloc
// and a few mallocs per key).
function versionKey(key: Uint8Array, stamp: bigint): Uint8Array {
  const out = new Uint8Array(key.length + stampBytes);
  out.set(key);
  const inverted = 0xffff_ffff_ffff_ffffn - stamp; // newest first in key order
  const high = Number(inverted >> 32n);
  const low = Number(inverted & 0xffff_ffffn);
  const at = key.length;
  out[at] = high >>> 24;
  out[at + 1] = (high >>> 16) & 0xff;
  out[at + 2] = (high >>> 8) & 0xff;
  out[at + 3] = high & 0xff;
  out[at + 4] = low >>> 24;
  out[at + 5] = (low >>> 16) & 0xff;
  out[at + 6] = (low >>> 8) & 0xff;
  out[at + 7] = low & 0xff;
  return out;
}

/** The stamp of the version key `treeKey` of a row key `keyLength` bytes long. */
function stampOf(treeKey: Uint8Array, keyLength: number): bigint {
  const k = treeKey;
  const at = keyLength;
  const high = ((k[at]! << 24) | (k[at + 1]! << 16) | (k[at + 2]! << 8) | k[at + 3]!) >>> 0;
  const low = ((k[at + 4]! << 24) | (k[at + 5]! << 16) | (k[at + 6]! << 8) | k[at + 7]!) >>> 0;
  return 0xffff_ffff_ffff_ffffn - ((BigInt(high) << 32n) | BigInt(low));
}

function decodeVersion(entry: Entry, keyLength: number): Version {
  const value = entry.value;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    stamp: stampOf(entry.key, keyLength),
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

/** A whole-tree vacuum walk under way (rule 6). */
interface TreeWalk {
  /** Tree key of the oldest version of the last key decided; undefined before the first. */
  cursor: Uint8Array | undefined;
}

/** Keys of one tree that may hold removable versions (rule 5). */
interface DirtyKeys {
  /** The next pass must walk the whole tree (from its start). */
  full: boolean;
  /** Noted keys, by their bytes as a latin-1 string. */
  keys: Map<string, Uint8Array>;
  /** The whole-tree walk begun and not finished: the next pass resumes it (rule 6). */
  walk: TreeWalk | undefined;
}

/** What one {@link VacuumPass.step} did. */
export interface VacuumStep {
  /** Versions removed. */
  removed: number;
  /** Keys decided (noted keys already decided by another pass count too). */
  keys: number;
  /** True when the pass has nothing more to do. */
  done: boolean;
}

/** Most dead versions one vacuum step removes (rule 6): about a millisecond of deletes. */
export const vacuumStepVersionsMax = 256;

/** Dead versions of the last key decided, oldest first, not yet removed (rule 6). */
interface PendingRemovals {
  keys: Uint8Array[];
  at: number;
}

/** One vacuum pass over a tree, done in bounded steps (rule 6). */
export interface VacuumPass {
  /** Decides the versions of at most `maxKeys` more keys and removes the dead ones. */
  step(maxKeys: number): VacuumStep;
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
    dirty = { full: true, keys: new Map(), walk: undefined };
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
  dirty.walk = undefined;
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
    const dirty = this.#dirty;
    return dirty.full || dirty.walk !== undefined || dirty.keys.size > 0;
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
    return this.#versionEntries(key).map((entry) => decodeVersion(entry, key.length));
  }

  /** The tree entries of every version of `key`, newest first. */
  #versionEntries(key: Uint8Array): Entry[] {
    const out: Entry[] = [];
    const end = prefixEnd(key);
    let start: Uint8Array | undefined = key;
    for (;;) {
      const batch: Entry[] = this.tree.batch({
        start: start!,
        startInclusive: start === key,
        ...(end ? { end } : {}),
        limit: 32,
      });
      for (const entry of batch) {
        if (entry.key.length === key.length + stampBytes) out.push(entry);
      }
      if (batch.length < 32) return out;
      start = batch[batch.length - 1]!.key;
    }
  }

  /**
   * Every version of `key`, newest first, as its tree key and only the version header of its
   * value (what a vacuum decides by): walked in place in one call, so the versions are
   * gathered completely (rule 6), and the rows themselves are never copied.
   */
  #versionHeads(key: Uint8Array): Entry[] {
    const out: Entry[] = [];
    this.tree.visitPrefix(key, (treeKey, value) => {
      if (treeKey.length === key.length + stampBytes) {
        out.push({ key: treeKey.slice(), value: value.slice(0, headerBytes) });
      }
      return true;
    });
    return out;
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
        if (newestStamp < 0n) newestStamp = stampOf(treeKey, key.length);
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
      // An older version exists, or this is a tombstone (an upsert of "no row" over no
      // version): once this one commits there is garbage (rule 5).
      if (newestStamp > 0n || next === null) this.#noteDirty(key);
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
   * and every version of a rolled-back writer. The whole pass in one go (see
   * {@link startVacuum} for one in steps). Returns how many versions were removed.
   */
  vacuum(txn: number): number {
    const pass = this.startVacuum(txn);
    let removed = 0;
    for (;;) {
      const step = pass.step(Infinity);
      removed += step.removed;
      if (step.done) return removed;
    }
  }

  /**
   * Begins a vacuum pass whose work is done in steps (rule 6): over the noted keys, or the
   * whole tree when the store was just opened, too many keys were noted, or an earlier walk
   * was left unfinished. Deletes are logged for `txn`.
   */
  startVacuum(txn: number): VacuumPass {
    const dirty = this.#dirty;
    if (dirty.full) {
      // The walk meets every key present now, so the notes so far are covered by it.
      dirty.full = false;
      dirty.keys.clear();
      dirty.walk = { cursor: undefined };
    }
    const pending: PendingRemovals = { keys: [], at: 0 };
    const walk = dirty.walk;
    if (walk !== undefined) {
      return { step: (maxKeys) => this.#walkStep(walk, txn, maxKeys, pending) };
    }
    // The keys noted now; each leaves the notes only when its step decides it (rule 6).
    const noted = [...dirty.keys];
    let next = 0;
    return {
      step: (maxKeys) => {
        assert(maxKeys >= 1, "a vacuum step decides at least one key");
        let removed = this.#removeSome(pending, txn, vacuumStepVersionsMax);
        let keys = 0;
        while (next < noted.length && keys < maxKeys && pending.at === pending.keys.length) {
          if (removed >= vacuumStepVersionsMax) break;
          const [name, key] = noted[next++]!;
          keys++;
          // Gone from the notes: another pass decided it since (and noted it again if it
          // still holds garbage), or a whole-tree walk now covers it.
          if (!dirty.keys.delete(name)) continue;
          this.#settleKey(key, this.#versionHeads(key), pending);
          removed += this.#removeSome(pending, txn, vacuumStepVersionsMax - removed);
        }
        return {
          removed,
          keys,
          done: next >= noted.length && pending.at === pending.keys.length,
        };
      },
    };
  }

  /**
   * Removes up to `budget` of the pending dead versions, oldest first, each in its own logged
   * change; returns how many were still there to remove (another pass may have taken some).
   */
  #removeSome(pending: PendingRemovals, txn: number, budget: number): number {
    let removed = 0;
    while (pending.at < pending.keys.length && budget-- > 0) {
      const treeKey = pending.keys[pending.at++]!;
      if (this.#log.run(txn, () => this.tree.delete(treeKey), true)) removed++;
    }
    if (pending.at === pending.keys.length && pending.keys.length > 0) {
      pending.keys = [];
      pending.at = 0;
    }
    return removed;
  }

  /**
   * Up to `maxKeys` keys of the whole-tree walk from its cursor: the versions of each key are
   * gathered completely (across tree batches) before the key is decided (rule 6).
   */
  #walkStep(
    walk: TreeWalk,
    txn: number,
    maxKeys: number,
    pending: PendingRemovals,
  ): VacuumStep {
    assert(maxKeys >= 1, "a vacuum step decides at least one key");
    let removed = this.#removeSome(pending, txn, vacuumStepVersionsMax);
    let keys = 0;
    if (pending.at < pending.keys.length) return { removed, keys, done: false };
    // A newer walk (the notes overflowed, then a pass restarted from the top) covers this one.
    if (this.#dirty.walk !== walk) return { removed, keys, done: true };
    let group: Entry[] = [];
    let groupKey: Uint8Array | undefined;
    let cursor = walk.cursor;
    for (;;) {
      const batch = this.tree.batch(
        cursor ? { start: cursor, startInclusive: false, limit: 256 } : { limit: 256 },
      );
      for (const entry of batch) {
        const key = entry.key.subarray(0, entry.key.length - stampBytes);
        if (groupKey !== undefined && compareKeys(groupKey, key) !== 0) {
          this.#settleKey(groupKey, group, pending);
          removed += this.#removeSome(pending, txn, vacuumStepVersionsMax - removed);
          keys++;
          walk.cursor = group[group.length - 1]!.key;
          group = [];
          if (keys >= maxKeys || removed >= vacuumStepVersionsMax) {
            return { removed, keys, done: false };
          }
        }
        if (group.length === 0) groupKey = key;
        group.push(entry);
      }
      if (batch.length < 256) {
        if (groupKey !== undefined && group.length > 0) {
          this.#settleKey(groupKey, group, pending);
          removed += this.#removeSome(pending, txn, vacuumStepVersionsMax - removed);
          keys++;
        }
        this.#dirty.walk = undefined;
        return { removed, keys, done: pending.at === pending.keys.length };
      }
      cursor = batch[batch.length - 1]!.key;
    }
  }

  /**
   * Decides the versions of one key (`entries`, all of them, newest first) and queues the dead
   * ones in `pending`, oldest first: versions older than the newest one every snapshot sees as
   * committed, that one too when it is a tombstone, and versions of rolled-back writers. A key
   * with garbage some snapshot still sees, or more dead versions than one step removes, is
   * noted again (rule 6).
   */
  #settleKey(key: Uint8Array, entries: readonly Entry[], pending: PendingRemovals): void {
    const doomed: Uint8Array[] = [];
    let settled = false;
    let kept = 0;
    let keptTombstone = false;
    for (const entry of entries) {
      const value = entry.value;
      const writer = (value[1]! | (value[2]! << 8) | (value[3]! << 16)) + value[4]! * 0x100_0000 +
        (value[5]! | (value[6]! << 8)) * 0x1_0000_0000;
      const tombstone = (value[0]! & tombstoneFlag) !== 0;
      if (settled || this.#txns.isAborted(writer)) {
        doomed.push(entry.key);
        continue;
      }
      if (this.#txns.visibleToAll(writer)) {
        settled = true;
        if (tombstone) {
          doomed.push(entry.key);
          continue;
        }
      }
      kept++;
      keptTombstone = tombstone;
    }
    doomed.reverse(); // oldest first: a dead tombstone goes after what lies under it
    pending.keys = doomed;
    pending.at = 0;
    if (kept > 1 || keptTombstone || doomed.length > vacuumStepVersionsMax) this.#noteDirty(key);
  }
}
