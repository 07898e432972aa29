/**
 * Tables: rows clustered by primary key in a multi-version B+tree (mvcc.ts), plus secondary
 * indexes. A table without a primary key is clustered by a hidden bigint row id.
 *
 * Secondary index entries are `index key ‖ row key` with an empty value and are not versioned:
 * an entry says "some version of this row may have this index key". Readers go through the
 * entry to the row's visible version and keep it only if that version really has the key
 * (a recheck), so stale entries are harmless until vacuum removes them.
 *
 * Rules:
 * 1. NULLs never conflict in a unique index (PostgreSQL's NULLS DISTINCT default).
 * 2. A unique check that finds an entry whose row's newest version belongs to a running
 *    transaction waits for it to end, then checks again (as PostgreSQL does).
 * 3. An index entry added by a transaction is removed on rollback only if that transaction
 *    created it (another version may share it).
 */
import { assert } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import type { BTree } from "./btree/btree.ts";
import { compareKeys, encodeKeyComponent, KeyWriter, prefixEnd } from "./key_codec.ts";
import { UniqueViolationError, VersionedTree } from "./mvcc.ts";
import { decodeRow, RowWriter } from "./row_codec.ts";
import type { TableLocks } from "./table_locks.ts";
import type { Transaction, TransactionManager, TxnLog } from "./txn.ts";
import { type ColumnType, type SqlValue, TypeId } from "./types.ts";

/** A column as the catalog stores it. */
export interface ColumnDef {
  name: string;
  type: ColumnType;
  notNull: boolean;
  /** SQL text of the DEFAULT expression (evaluated by the SQL layer), or null. */
  defaultSql: string | null;
  /** Value for rows stored before the column was added (PostgreSQL's attmissingval). */
  missing: SqlValue;
  /** True once dropped: the slot stays so stored rows still decode. */
  dropped: boolean;
  /** "always" | "by default" for identity columns; null otherwise. */
  identity: "always" | "by default" | null;
  /** Declared serial: fed like a "by default" identity, shown as nextval('<table>_<col>_seq'). */
  serial?: boolean;
}

/** An index key part. */
export interface IndexColumn {
  column: number;
  descending: boolean;
}

/** A secondary index as the catalog stores it. */
export interface IndexDef {
  name: string;
  columns: IndexColumn[];
  unique: boolean;
  /** Set for the index of a UNIQUE constraint (dropped only with the constraint). */
  constraint?: boolean;
  root: number;
  treeId: number;
}

/** A table as the catalog stores it. */
export interface TableDef {
  id: number;
  name: string;
  columns: ColumnDef[];
  /** Column positions of the primary key; empty for a hidden row id. */
  primaryKey: number[];
  /** Name of the primary key constraint (`<table>_pkey`). */
  primaryKeyName: string;
  root: number;
  treeId: number;
  indexes: IndexDef[];
  /** SQL text of CHECK constraints, with their names. */
  checks: { name: string; sql: string }[];
}

/** A row as read: its clustering key and decoded values. */
export interface TableRow {
  key: Uint8Array;
  values: SqlValue[];
}

/** Range bounds on a key (encoded), for scans. */
export interface KeyRange {
  start?: Uint8Array;
  startInclusive?: boolean;
  end?: Uint8Array;
  endInclusive?: boolean;
  reverse?: boolean;
  limit?: number;
}

/**
 * A secondary index that an uncommitted CREATE INDEX is filling: writers of the table maintain
 * it too (through handles that do not list it yet), so no row written meanwhile is missed.
 * `dropped` is set when that CREATE INDEX rolls back, before its tree is freed.
 */
export interface BuildingIndex {
  def: IndexDef;
  tree: BTree;
  dropped: boolean;
}

/**
 * Row keys (or index entries) a vacuum step decides between two looks at the slice clock, for
 * callers that yield between steps: small enough that a step stays well under the background
 * slice (0.5 ms), large enough that the clock is not read per key.
 */
export const vacuumStepKeys = 32;

/** What one {@link TableVacuumPass.step} did. */
export interface TableVacuumStep {
  /** Row versions removed. */
  versions: number;
  /** Index entries removed. */
  indexEntries: number;
  /** True when the pass has nothing more to do. */
  done: boolean;
}

/** One vacuum pass over a table, in bounded steps (see {@link Table.startVacuum}). */
export interface TableVacuumPass {
  /** Does the work of at most `maxKeys` row keys or index entries (at least one). */
  step(maxKeys: number): TableVacuumStep;
}

/** Per store, the row-tree roots of tables whose index walk a vacuum pass left unfinished. */
const indexWalksByStore = new WeakMap<object, Set<number>>();

function indexWalksPending(rows: BTree): Set<number> {
  let pending = indexWalksByStore.get(rows.store);
  if (pending === undefined) {
    pending = new Set();
    indexWalksByStore.set(rows.store, pending);
  }
  return pending;
}

/** The number of columns a stored row holds (its first field, row_codec.ts). */
function storedColumnCount(row: Uint8Array): number {
  return row[0]! | (row[1]! << 8);
}

/** Opens B+trees by root and id (the storage engine). */
export interface TreeOpener {
  openTree(root: number, treeId: number): BTree;
}

export class Table {
  readonly def: TableDef;
  readonly rows: VersionedTree;
  readonly #indexes: { def: IndexDef; tree: BTree }[];
  readonly #types: ColumnType[];
  readonly #missing: SqlValue[];
  readonly #txns: TransactionManager;
  readonly #log: TxnLog;
  readonly #locks: TableLocks;
  readonly #keys = new KeyWriter();
  readonly #rowWriter = new RowWriter();
  /** Source of hidden row ids (set by the catalog from its sequence). */
  nextRowId: () => bigint = () => {
    throw new Error("no row id source");
  };
  /** Indexes being built on this table by uncommitted transactions (set by the catalog). */
  buildingIndexes: () => readonly BuildingIndex[] = () => [];

  constructor(
    def: TableDef,
    opener: TreeOpener,
    txns: TransactionManager,
    log: TxnLog,
    locks: TableLocks,
  ) {
    this.def = def;
    this.#locks = locks;
    this.#txns = txns;
    this.#log = log;
    this.rows = new VersionedTree(
      opener.openTree(def.root, def.treeId),
      txns,
      log,
      def.primaryKeyName,
    );
    this.#indexes = def.indexes.map((index) => ({
      def: index,
      tree: opener.openTree(index.root, index.treeId),
    }));
    this.#types = def.columns.map((c) => c.type);
    this.#missing = def.columns.map((c) => c.missing);
  }

  /** Encodes a clustering key from primary key values (in primary key column order). */
  keyOf(primaryKeyValues: readonly SqlValue[]): Uint8Array {
    assert(this.def.primaryKey.length > 0, "a table with a primary key");
    this.#keys.reset();
    this.def.primaryKey.forEach((column, i) => {
      encodeKeyComponent(
        this.#keys,
        this.def.columns[column]!.type.id,
        primaryKeyValues[i] ?? null,
      );
    });
    return this.#keys.finish();
  }

  /** The row with primary key `values` visible at `snapshot`, or null (the lookup fast path). */
  getByPrimaryKey(
    values: readonly SqlValue[],
    txn: Transaction | undefined,
    snapshot: number,
  ): SqlValue[] | null {
    this.#keys.reset();
    for (let i = 0; i < this.def.primaryKey.length; i++) {
      encodeKeyComponent(
        this.#keys,
        this.def.columns[this.def.primaryKey[i]!]!.type.id,
        values[i] ?? null,
      );
    }
    // The key is a view into the writer: used before anything else encodes a key.
    const bytes = this.rows.get(this.#keys.view(), txn, snapshot);
    return bytes === null ? null : this.decode(bytes);
  }

  /** The clustering key of a full row. */
  rowKey(values: readonly SqlValue[]): Uint8Array {
    return this.keyOf(this.def.primaryKey.map((column) => values[column] ?? null));
  }

  /** Encodes the index key of `values` for `index` (without the row key suffix). */
  indexKey(index: IndexDef, values: readonly SqlValue[]): Uint8Array {
    this.#keys.reset();
    for (const part of index.columns) {
      encodeKeyComponent(
        this.#keys,
        this.def.columns[part.column]!.type.id,
        values[part.column] ?? null,
        part.descending,
      );
    }
    return this.#keys.finish();
  }

  /** Encodes a prefix of an index key from the leading column values (for index scans). */
  indexPrefix(index: IndexDef, leading: readonly SqlValue[]): Uint8Array {
    this.#keys.reset();
    leading.forEach((value, i) => {
      const part = index.columns[i]!;
      encodeKeyComponent(
        this.#keys,
        this.def.columns[part.column]!.type.id,
        value,
        part.descending,
      );
    });
    return this.#keys.finish();
  }

  decode(bytes: Uint8Array): SqlValue[] {
    return decodeRow(bytes, this.#types, this.#missing);
  }

  encode(values: readonly SqlValue[]): Uint8Array {
    return this.#rowWriter.encode(this.#types, values);
  }

  /** The row with clustering key `key` visible at `snapshot`, or null. */
  get(key: Uint8Array, txn: Transaction | undefined, snapshot: number): SqlValue[] | null {
    const bytes = this.rows.get(key, txn, snapshot);
    return bytes === null ? null : this.decode(bytes);
  }

  /** Visible rows in clustering-key order within `range`. */
  scan(txn: Transaction | undefined, snapshot: number, range: KeyRange = {}): TableRow[] {
    return this.rows.scan(txn, snapshot, range).map((r) => ({
      key: r.key,
      values: this.decode(r.row),
    }));
  }

  /**
   * Visible rows through secondary index `name`, in index order, for index keys in `range`
   * (bounds are encoded index key prefixes). Each row is rechecked against the index key.
   */
  indexScan(
    name: string,
    txn: Transaction | undefined,
    snapshot: number,
    range: KeyRange = {},
  ): TableRow[] {
    const index = this.#indexes.find((i) => i.def.name === name);
    assert(index !== undefined, `index ${name} of ${this.def.name}`);
    const out: TableRow[] = [];
    const limit = range.limit ?? Infinity;
    let cursor = range.start;
    let inclusive = range.startInclusive ?? true;
    if (cursor !== undefined && !inclusive) {
      cursor = prefixEnd(cursor);
      inclusive = true;
    }
    const end = range.end === undefined
      ? undefined
      : (range.endInclusive ? prefixEnd(range.end) : range.end);
    for (;;) {
      const batch = index.tree.batch({
        ...(cursor !== undefined ? { start: cursor, startInclusive: inclusive } : {}),
        ...(end !== undefined ? { end } : {}),
        limit: 128,
      });
      for (const entry of batch) {
        const rowKeyBytes = this.#rowKeyOfEntry(index.def, entry.key);
        const values = this.get(rowKeyBytes, txn, snapshot);
        if (values === null) continue;
        const expected = this.indexKey(index.def, values);
        if (
          compareKeys(expected, entry.key.subarray(0, entry.key.length - rowKeyBytes.length)) !== 0
        ) continue;
        out.push({ key: rowKeyBytes, values });
        if (out.length >= limit) return out;
      }
      if (batch.length < 128) return out;
      cursor = batch[batch.length - 1]!.key;
      inclusive = false;
    }
  }

  /** The table's write lock (dbengine/table_locks.ts), before the transaction's first write. */
  #writeLock(txn: Transaction): Promise<void> {
    return this.#locks.write(txn, this.def.id, this.def.name);
  }

  /** Inserts a row; checks the primary key and unique indexes (23505). */
  async insert(txn: Transaction, values: SqlValue[]): Promise<Uint8Array> {
    if (!this.#locks.mayWrite(txn, this.def.id)) await this.#writeLock(txn);
    const key = this.def.primaryKey.length > 0 ? this.rowKey(values) : this.#hiddenKey();
    await this.#checkUnique(txn, key, values);
    await this.rows.write(txn, key, "insert", () => this.encode(values));
    this.#addIndexEntries(txn, key, values);
    return key;
  }

  /**
   * Updates the row at `key`: `compute` gets the newest committed (or own) values after any
   * row-lock wait and returns new values, or undefined to leave the row alone (a WHERE that no
   * longer matches). Returns the old and new values, or null when the row is gone.
   */
  async update(
    txn: Transaction,
    key: Uint8Array,
    compute: (current: SqlValue[]) => SqlValue[] | undefined,
  ): Promise<{ before: SqlValue[]; after: SqlValue[] } | null> {
    if (!this.#locks.mayWrite(txn, this.def.id)) await this.#writeLock(txn);
    let result: { before: SqlValue[]; after: SqlValue[] } | null = null;
    // A changed primary key moves the row: delete here, insert there (after checks).
    let moved: SqlValue[] | undefined;
    await this.rows.write(txn, key, "update", (current) => {
      const before = this.decode(current!);
      const after = compute(before);
      if (after === undefined) return undefined;
      result = { before, after };
      if (this.def.primaryKey.length > 0 && compareKeys(this.rowKey(after), key) !== 0) {
        moved = after;
        return null;
      }
      return this.encode(after);
    });
    if (result === null) return null;
    const { after } = result as { before: SqlValue[]; after: SqlValue[] };
    this.checkNotNull(after);
    if (moved !== undefined) {
      await this.insert(txn, moved);
      return result;
    }
    await this.#checkUniqueIndexes(txn, key, after);
    this.#addIndexEntries(txn, key, after);
    return result;
  }

  /** Deletes the row at `key` if `check` (given the newest values) agrees; returns them. */
  async delete(
    txn: Transaction,
    key: Uint8Array,
    check: (current: SqlValue[]) => boolean = () => true,
  ): Promise<SqlValue[] | null> {
    if (!this.#locks.mayWrite(txn, this.def.id)) await this.#writeLock(txn);
    let deleted: SqlValue[] | null = null;
    await this.rows.write(txn, key, "delete", (current) => {
      const values = this.decode(current!);
      if (!check(values)) return undefined;
      deleted = values;
      return null;
    });
    return deleted;
  }

  /**
   * Removes dead versions and index entries no row version needs, in one go (see
   * {@link startVacuum} for a pass in steps). Returns counts.
   */
  vacuum(txn: number): { versions: number; indexEntries: number } {
    const pass = this.startVacuum(txn);
    const total = { versions: 0, indexEntries: 0 };
    for (;;) {
      const step = pass.step(Infinity);
      total.versions += step.versions;
      total.indexEntries += step.indexEntries;
      if (step.done) return total;
    }
  }

  /**
   * Begins a vacuum pass in bounded steps, so the caller can yield between them: first the row
   * versions (mvcc.ts rule 6), then a walk over each secondary index with a cursor. Deletes are
   * logged for `txn`. A pass stopped early loses nothing: its row work stays noted, and an
   * unfinished index walk makes the next pass walk the indexes again.
   */
  startVacuum(txn: number): TableVacuumPass {
    const pending = indexWalksPending(this.rows.tree);
    // Index entries die only with row versions: nothing noted, nothing to walk (mvcc.ts rule
    // 5), unless an earlier pass stopped before its index walk ended.
    if (!this.rows.needsVacuum() && !pending.has(this.rows.tree.root)) {
      return { step: () => ({ versions: 0, indexEntries: 0, done: true }) };
    }
    if (this.#indexes.length > 0) pending.add(this.rows.tree.root);
    const rows = this.rows.startVacuum(txn);
    let rowsDone = false;
    let indexAt = 0;
    let cursor: Uint8Array | undefined;
    return {
      step: (maxKeys) => {
        assert(maxKeys >= 1, "a vacuum step decides at least one key");
        let budget = maxKeys;
        let versions = 0;
        if (!rowsDone) {
          const step = rows.step(budget);
          versions = step.removed;
          budget -= step.keys;
          rowsDone = step.done;
          if (!rowsDone || budget <= 0) return { versions, indexEntries: 0, done: false };
        }
        let indexEntries = 0;
        while (indexAt < this.#indexes.length && budget > 0) {
          const index = this.#indexes[indexAt]!;
          const limit = Math.min(256, budget);
          const batch = index.tree.batch(
            cursor ? { start: cursor, startInclusive: false, limit } : { limit },
          );
          budget -= batch.length;
          for (const entry of batch) {
            if (this.#indexEntryNeeded(index.def, entry.key)) continue;
            this.#log.run(txn, () => index.tree.delete(entry.key), true);
            indexEntries++;
          }
          if (batch.length < limit) {
            indexAt++;
            cursor = undefined;
          } else cursor = batch[batch.length - 1]!.key;
        }
        const done = indexAt >= this.#indexes.length;
        if (done) pending.delete(this.rows.tree.root);
        return { versions, indexEntries, done };
      },
    };
  }

  /**
   * Whether index entry `entryKey` must stay, decided on the row's versions present now. Each
   * entry is decided alone, so yields between entries are harmless: a reader reaches a row only
   * through a version present in the tree, and a write that gives a version this index key
   * puts the entry again after writing the version. A version this handle cannot decode (stored
   * after an ADD COLUMN committed during the pass) keeps the entry: keeping is always safe.
   */
  #indexEntryNeeded(def: IndexDef, entryKey: Uint8Array): boolean {
    const rowKey = this.#rowKeyOfEntry(def, entryKey);
    const indexKey = entryKey.subarray(0, entryKey.length - rowKey.length);
    return this.rows.versions(rowKey).some((v) => {
      if (v.tombstone) return false;
      if (storedColumnCount(v.row) > this.#types.length) return true;
      return compareKeys(this.indexKey(def, this.decode(v.row)), indexKey) === 0;
    });
  }

  /** All trees of this table (for drop and checks). */
  trees(): BTree[] {
    return [this.rows.tree, ...this.#indexes.map((i) => i.tree)];
  }

  /** Inserts the index entry for `values` into every index (used by CREATE INDEX builds too). */
  #addIndexEntries(txn: Transaction, key: Uint8Array, values: readonly SqlValue[]): void {
    for (const index of this.#writeIndexes()) {
      const entry = concat(this.indexKey(index.def, values), key);
      const created = this.#log.run(txn.id, () => index.tree.put(entry, new Uint8Array(0)));
      if (created) {
        const building = "dropped" in index ? index : undefined;
        txn.undo.push(() => {
          if (building?.dropped !== true) index.tree.delete(entry);
        });
      }
    }
  }

  /** The indexes a write maintains: this definition's, and any being built on the table. */
  #writeIndexes(): readonly ({ def: IndexDef; tree: BTree } | BuildingIndex)[] {
    const building = this.buildingIndexes();
    if (building.length === 0) return this.#indexes;
    const known = new Set(this.#indexes.map((i) => i.def.treeId));
    return [...this.#indexes, ...building.filter((b) => !b.dropped && !known.has(b.def.treeId))];
  }

  /**
   * Fills index `name` (new and empty) from every row version present — committed, running or
   * own, all but rolled-back ones — then checks a unique index on each row's newest version.
   * Returns the number of entries added.
   */
  async buildIndex(txn: Transaction, name: string): Promise<number> {
    const index = this.#indexes.find((i) => i.def.name === name);
    assert(index !== undefined, `index ${name} of ${this.def.name}`);
    let added = 0;
    const newest: { key: Uint8Array; values: SqlValue[] }[] = [];
    let lastKey: Uint8Array | undefined;
    this.rows.forEachVersion((key, version) => {
      // Versions of a key come newest first: that one decides the unique check (none if deleted).
      const newestOfKey = lastKey === undefined || compareKeys(lastKey, key) !== 0;
      if (newestOfKey) lastKey = key.slice();
      if (version.tombstone) return;
      const values = this.decode(version.row);
      const entry = concat(this.indexKey(index.def, values), key);
      if (this.#log.run(txn.id, () => index.tree.put(entry, new Uint8Array(0)))) added++;
      if (newestOfKey) newest.push({ key: lastKey!, values });
    });
    if (index.def.unique) {
      for (const row of newest) await this.#checkUniqueIndexes(txn, row.key, row.values, [index]);
    }
    return added;
  }

  async #checkUnique(
    txn: Transaction,
    key: Uint8Array,
    values: readonly SqlValue[],
  ): Promise<void> {
    this.checkNotNull(values);
    await this.#checkUniqueIndexes(txn, key, values);
  }

  /** Throws NotNullViolationError (23502) for a NULL in a NOT NULL column. */
  checkNotNull(values: readonly SqlValue[]): void {
    for (let column = 0; column < this.def.columns.length; column++) {
      const def = this.def.columns[column]!;
      if (def.notNull && !def.dropped && values[column] === null) {
        throw new NotNullViolationError(def.name, this.def.name);
      }
    }
  }

  async #checkUniqueIndexes(
    txn: Transaction,
    key: Uint8Array,
    values: readonly SqlValue[],
    indexes: readonly { def: IndexDef; tree: BTree }[] = this.#writeIndexes(),
  ): Promise<void> {
    for (const index of indexes) {
      if (!index.def.unique) continue;
      if (index.def.columns.some((part) => values[part.column] === null)) continue; // rule 1
      const indexKey = this.indexKey(index.def, values);
      for (let attempt = 0;; attempt++) {
        assert(attempt < 1000, "unique check settles");
        const conflict = this.#uniqueConflict(txn, index, indexKey, key);
        if (conflict === undefined) break;
        if (conflict === "violation") throw new UniqueViolationError(index.def.name);
        await this.#txns.waitFor(txn, conflict); // rule 2
      }
    }
  }

  #uniqueConflict(
    txn: Transaction,
    index: { def: IndexDef; tree: BTree },
    indexKey: Uint8Array,
    key: Uint8Array,
  ): Transaction | "violation" | undefined {
    const end = prefixEnd(indexKey);
    let cursor: Uint8Array = indexKey;
    let inclusive = true;
    for (;;) {
      const batch = index.tree.batch({
        start: cursor,
        startInclusive: inclusive,
        ...(end ? { end } : {}),
        limit: 64,
      });
      for (const entry of batch) {
        const other = this.#rowKeyOfEntry(index.def, entry.key);
        if (compareKeys(other, key) === 0) continue;
        if (entry.key.length - other.length !== indexKey.length) continue;
        for (const version of this.rows.versions(other)) {
          if (version.writer !== txn.id && this.#txns.isAborted(version.writer)) continue;
          const running = version.writer === txn.id
            ? undefined
            : this.#txns.running(version.writer);
          const live = !version.tombstone &&
            compareKeys(this.indexKey(index.def, this.decode(version.row)), indexKey) === 0;
          if (running !== undefined) {
            if (live || version.tombstone) return running;
            break;
          }
          if (live) return "violation";
          break; // the newest settled version decides
        }
      }
      if (batch.length < 64) return undefined;
      cursor = batch[batch.length - 1]!.key;
      inclusive = false;
    }
  }

  /** The row key inside an index entry: the entry minus the index key's encoded columns. */
  #rowKeyOfEntry(index: IndexDef, entry: Uint8Array): Uint8Array {
    // Index key components are self-delimiting; skip them to find where the row key starts.
    let at = 0;
    for (const part of index.columns) {
      at = skipComponent(entry, at, this.def.columns[part.column]!.type.id, part.descending);
    }
    return entry.subarray(at);
  }

  #hiddenKey(): Uint8Array {
    this.#keys.reset();
    encodeKeyComponent(this.#keys, TypeId.bigint, this.nextRowId());
    return this.#keys.finish();
  }
}

/** SQLSTATE 23502: a NULL in a NOT NULL column. */
export class NotNullViolationError extends ExoError {
  override name = "NotNullViolationError";
  constructor(column: string, table: string) {
    super(
      "23502",
      `null value in column "${column}" of relation "${table}" violates not-null constraint`,
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const fixedKeyBytes: Partial<Record<number, number>> = {
  [TypeId.smallint]: 2,
  [TypeId.integer]: 4,
  [TypeId.bigint]: 8,
  [TypeId.real]: 8,
  [TypeId.double]: 8,
  [TypeId.boolean]: 1,
  [TypeId.date]: 4,
  [TypeId.timestamp]: 8,
  [TypeId.timestamptz]: 8,
  [TypeId.interval]: 16,
};

/** Returns the offset after one encoded key component starting at `at` (see key_codec.ts). */
export function skipComponent(
  key: Uint8Array,
  at: number,
  type: number,
  descending: boolean,
): number {
  const flip = descending ? 0xff : 0;
  const tag = key[at]! ^ flip;
  if (tag === 0x02) return at + 1; // NULL
  let i = at + 1;
  const fixed = fixedKeyBytes[type];
  if (fixed !== undefined) return i + fixed;
  if (type === TypeId.numeric) {
    const cls = key[i++]! ^ flip;
    if (cls !== 0x90 && cls !== 0x70) return i; // zero, infinities, NaN: the class byte alone
    i += 4;
    const terminator = cls === 0x90 ? 0x00 : 0xff;
    while ((key[i]! ^ flip) !== terminator) i++;
    return i + 1;
  }
  // Escaped byte strings end in 0x00 0x00; 0x00 0xFF is an escaped zero byte.
  for (;;) {
    const b = key[i]! ^ flip;
    if (b === 0) {
      const next = key[i + 1]! ^ flip;
      if (next === 0) return i + 2;
      i += 2;
      continue;
    }
    i++;
  }
}
