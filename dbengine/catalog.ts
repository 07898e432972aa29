/**
 * The catalog: table and index definitions, stored as multi-version rows in the catalog
 * B+tree, so DDL is transactional exactly like data (a CREATE TABLE is invisible to others
 * until commit and vanishes on rollback; a DROP TABLE is undone by ROLLBACK). Plus sequences,
 * which are not transactional (as in PostgreSQL: a nextval is never rolled back).
 *
 * Catalog rows: key = text "table:<name>", value = the TableDef as JSON (bigints and bytes
 * tagged). The trees of a table are created inside the DDL's transaction (undo frees them)
 * and freed after a DROP only once every snapshot sees the drop (txn.afterCommitVisible).
 *
 * Sequences live in their own B+tree (key: name, value: u64 high-water mark). Values are
 * handed out from memory and the high-water mark is logged `sequenceCacheSize` ahead, so a
 * crash may skip up to that many values, never repeat one (PostgreSQL's log_cnt idea).
 */
import { assert } from "../lib/assert.ts";
import { ExoError } from "../lib/errors.ts";
import type { BTree } from "./btree/btree.ts";
import { encodeKeyComponent, KeyWriter } from "./key_codec.ts";
import { VersionedTree } from "./mvcc.ts";
import type { Storage } from "./storage.ts";
import { type BuildingIndex, type IndexDef, Table, type TableDef } from "./table.ts";
import type { Transaction, TxnLog } from "./txn.ts";
import { TableLocks } from "./table_locks.ts";
import { type SqlValue, TypeId } from "./types.ts";

/** SQLSTATE 42P07 / 42P01 / 42704 errors about names. */
export class CatalogError extends ExoError {
  override name = "CatalogError";
}

const sequenceCacheSize = 32n;
/** Reserved tree ids of the catalog's own trees. */
export const catalogTreeId = 0x7fff_0001;
export const sequenceTreeId = 0x7fff_0002;

function catalogKey(kind: string, name: string): Uint8Array {
  const writer = new KeyWriter();
  encodeKeyComponent(writer, TypeId.text, `${kind}:${name}`);
  return writer.finish();
}

function toJson(def: TableDef): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(def, (_key, value) => {
    if (typeof value === "bigint") return { $bigint: value.toString() };
    if (value instanceof Uint8Array) return { $bytes: Array.from(value) };
    return value;
  }));
}

function fromJson(bytes: Uint8Array): TableDef {
  return JSON.parse(new TextDecoder().decode(bytes), (_key, value) => {
    if (value !== null && typeof value === "object") {
      if ("$bigint" in value) return BigInt(value.$bigint);
      if ("$bytes" in value) return Uint8Array.from(value.$bytes);
    }
    return value;
  });
}

/** A table definition before its trees exist. */
export type NewTableDef = Omit<TableDef, "id" | "root" | "treeId" | "indexes"> & {
  indexes: Omit<IndexDef, "root" | "treeId">[];
};

/** A sequence made by CREATE SEQUENCE: value k (1, 2, …) of the counter is start + (k − 1) × increment. */
export interface SequenceDef {
  name: string;
  start: bigint;
  increment: bigint;
}

/** What ANALYZE measured of a table: the planner's estimates come from here. */
export interface TableStatistics {
  /** Visible rows when analyzed. */
  rowCount: number;
  /** Distinct non-NULL values per column position (dropped columns 0). */
  distinctCounts: number[];
  /** Fraction of NULLs per column position. */
  nullFractions: number[];
  /** Smallest and largest value per numeric column position (null for others), sampled. */
  ranges?: ([number, number] | null)[];
}

export class Catalog {
  readonly storage: Storage;
  readonly #rows: VersionedTree;
  readonly #sequences: BTree;
  readonly #log: TxnLog;
  /** Open table handles by definition identity (id + roots), reused across statements. */
  readonly #handles = new Map<string, Table>();
  /**
   * Committed table definitions by name, used while no transaction has uncommitted catalog
   * changes (then every reader sees the same committed catalog). Cleared by every catalog
   * write and again when the writing transaction ends.
   */
  readonly #committedDefs = new Map<string, TableDef | null>();
  readonly #catalogWriters = new Set<number>();
  /** Committed table statistics by table name, cached like `#committedDefs`. */
  readonly #committedStats = new Map<string, TableStatistics | null>();
  #version = 0;
  readonly #handlesByDef = new WeakMap<TableDef, Table>();
  /** Indexes uncommitted CREATE INDEX statements are filling, by table name. */
  readonly #building = new Map<string, BuildingIndex[]>();
  /** In-memory sequence state: next value and the logged high-water mark. */
  readonly #sequenceState = new Map<string, { next: bigint; logged: bigint }>();

  /** Table write and exclusive locks (dbengine/table_locks.ts). */
  readonly tableLocks: TableLocks;

  private constructor(storage: Storage, rows: VersionedTree, sequences: BTree, log: TxnLog) {
    this.storage = storage;
    this.#rows = rows;
    this.#sequences = sequences;
    this.#log = log;
    this.tableLocks = new TableLocks(storage.txns);
  }

  /** Opens the catalog, creating its trees on a new image. */
  static open(storage: Storage): Catalog {
    const store = storage.store;
    store.run(0, () => {
      if (store.meta("catalogRoot") === 0) {
        store.setMeta("catalogRoot", storage.createTreeWithId(catalogTreeId).root);
      }
      if (store.meta("sequenceRoot") === 0) {
        store.setMeta("sequenceRoot", storage.createTreeWithId(sequenceTreeId).root);
      }
    });
    const log: TxnLog = {
      commit: (txn, synchronous) => storage.commit(txn, synchronous),
      abort: () => {},
      run: (txn, body, freesOnly) => store.run(txn, body, freesOnly),
    };
    const rows = new VersionedTree(
      storage.openTree(store.meta("catalogRoot"), catalogTreeId),
      storage.txns,
      log,
      "pg_class_relname_nsp_index",
    );
    return new Catalog(
      storage,
      rows,
      storage.openTree(store.meta("sequenceRoot"), sequenceTreeId),
      log,
    );
  }

  /** The definition of table `name` visible to `txn` at `snapshot`, or null. */
  tableDef(name: string, txn: Transaction | undefined, snapshot: number): TableDef | null {
    const cacheable = this.#catalogWriters.size === 0;
    if (cacheable) {
      const cached = this.#committedDefs.get(name);
      if (cached !== undefined) return cached;
    }
    const bytes = this.#rows.get(catalogKey("table", name), txn, snapshot);
    const def = bytes === null ? null : fromJson(bytes);
    if (cacheable) this.#committedDefs.set(name, def);
    return def;
  }

  /** Statistics of table `name` from its last ANALYZE, or null. */
  statistics(name: string, txn: Transaction | undefined, snapshot: number): TableStatistics | null {
    const cacheable = this.#catalogWriters.size === 0;
    if (cacheable) {
      const cached = this.#committedStats.get(name);
      if (cached !== undefined) return cached;
    }
    const bytes = this.#rows.get(catalogKey("stats", name), txn, snapshot);
    const stats = bytes === null ? null : JSON.parse(new TextDecoder().decode(bytes));
    if (cacheable) this.#committedStats.set(name, stats);
    return stats;
  }

  /** Stores the statistics of table `name` inside `txn` (ANALYZE). */
  async setStatistics(txn: Transaction, name: string, stats: TableStatistics): Promise<void> {
    this.#writing(txn);
    const bytes = new TextEncoder().encode(JSON.stringify(stats));
    await this.#rows.write(txn, catalogKey("stats", name), "upsert", () => bytes);
  }

  /** Notes an uncommitted catalog change by `txn` (bypasses and clears the cache). */
  #writing(txn: Transaction): void {
    this.#committedDefs.clear();
    this.#committedStats.clear();
    this.#version++;
    if (this.#catalogWriters.has(txn.id)) return;
    this.#catalogWriters.add(txn.id);
    txn.onEnd.push(() => {
      this.#catalogWriters.delete(txn.id);
      this.#committedDefs.clear();
      this.#committedStats.clear();
      this.#version++;
    });
  }

  /**
   * A number that changes whenever what any statement could see of the catalog changes, or
   * undefined while some transaction has uncommitted catalog changes (nothing may be cached).
   * Plan caches key on it.
   */
  get stableVersion(): number | undefined {
    return this.#catalogWriters.size === 0 ? this.#version : undefined;
  }

  /** An open handle on table `name` as visible to `txn` at `snapshot`, or null. */
  table(name: string, txn: Transaction | undefined, snapshot: number): Table | null {
    const def = this.tableDef(name, txn, snapshot);
    return def === null ? null : this.handle(def);
  }

  /** The handle for a definition (cached while the definition is unchanged). */
  handle(def: TableDef): Table {
    const known = this.#handlesByDef.get(def);
    if (known !== undefined) return known;
    const identity = `${def.id}/${def.root}/${
      JSON.stringify(def.indexes.map((i) => [i.name, i.root, i.treeId, i.unique]))
    }/${def.columns.length}/${def.columns.map((c) => c.dropped ? 1 : 0).join("")}/${
      JSON.stringify([def.checks, def.columns.map((c) => c.defaultSql)])
    }`;
    let table = this.#handles.get(identity);
    if (table === undefined) {
      table = new Table(def, this.storage, this.storage.txns, this.#log, this.tableLocks);
      const sequence = `${def.id}.rowid`;
      table.nextRowId = () => this.nextval(sequence);
      const name = def.name;
      table.buildingIndexes = () => this.#building.get(name) ?? [];
      this.#handles.set(identity, table);
    }
    this.#handlesByDef.set(def, table);
    return table;
  }

  /** Every table visible at `snapshot`, by name. */
  tables(txn: Transaction | undefined, snapshot: number): TableDef[] {
    return this.#definitions<TableDef>("table", txn, snapshot);
  }

  /** Every CREATE SEQUENCE sequence visible at `snapshot`, by name. */
  sequences(txn: Transaction | undefined, snapshot: number): SequenceDef[] {
    return this.#definitions<SequenceDef>("sequence", txn, snapshot);
  }

  /** Every catalog row of `kind` visible at `snapshot`, in name order. */
  #definitions<T>(kind: string, txn: Transaction | undefined, snapshot: number): T[] {
    const start = catalogKey(kind, "");
    const prefix = start.subarray(0, start.length - 2); // "<kind>:" without the terminator
    const out: T[] = [];
    let cursor: Uint8Array | undefined = prefix;
    let inclusive = true;
    for (;;) {
      const rows = this.#rows.scan(txn, snapshot, {
        start: cursor!,
        startInclusive: inclusive,
        limit: 128,
      });
      for (const row of rows) {
        if (!startsWith(row.key, prefix)) return out;
        out.push(fromJson(row.row) as unknown as T);
      }
      if (rows.length < 128) return out;
      cursor = rows[rows.length - 1]!.key;
      inclusive = false;
    }
  }

  /** Creates a table (and its indexes) inside `txn`. Throws 42P07 if the name is taken. */
  async createTable(txn: Transaction, def: NewTableDef): Promise<TableDef> {
    this.#writing(txn);
    const full = this.#withTrees(txn, def);
    const key = catalogKey("table", def.name);
    const { written } = await this.#rows.write(txn, key, "upsert", (current) => {
      if (current !== null) {
        throw new CatalogError("42P07", `relation "${def.name}" already exists`);
      }
      return toJson(full);
    });
    assert(written, "catalog row written");
    return full;
  }

  /** Replaces a table's definition (ALTER TABLE, TRUNCATE, CREATE INDEX) inside `txn`. */
  async replaceTable(
    txn: Transaction,
    name: string,
    next: (current: TableDef) => TableDef,
  ): Promise<TableDef> {
    this.#writing(txn);
    let result: TableDef | undefined;
    await this.#rows.write(txn, catalogKey("table", name), "update", (current) => {
      result = next(fromJson(current!));
      return toJson(result);
    });
    if (result === undefined) throw new CatalogError("42P01", `relation "${name}" does not exist`);
    return result;
  }

  /** The table holding the index or primary key constraint named `name`, or null. */
  indexOwner(name: string, txn: Transaction | undefined, snapshot: number): TableDef | null {
    for (const def of this.tables(txn, snapshot)) {
      if (def.primaryKeyName === name && def.primaryKey.length > 0) return def;
      if (def.indexes.some((i) => i.name === name)) return def;
    }
    return null;
  }

  /**
   * Adds secondary index `index` to table `tableName` inside `txn` and fills it from the rows
   * present (unique ones checked: 23505). Index names share the relation namespace (42P07).
   */
  async createIndex(
    txn: Transaction,
    snapshot: number,
    tableName: string,
    index: Omit<IndexDef, "root" | "treeId">,
  ): Promise<number> {
    if (
      this.tableDef(index.name, txn, snapshot) !== null ||
      this.indexOwner(index.name, txn, snapshot) !== null
    ) {
      throw new CatalogError("42P07", `relation "${index.name}" already exists`);
    }
    this.#writing(txn);
    const full: IndexDef = { ...index, ...this.newTree(txn) };
    const building: BuildingIndex = {
      def: full,
      tree: this.storage.openTree(full.root, full.treeId),
      dropped: false,
    };
    // Undo runs newest first: the flag is set before newTree's undo frees the tree.
    txn.undo.push(() => {
      building.dropped = true;
    });
    const list = this.#building.get(tableName) ?? [];
    list.push(building);
    this.#building.set(tableName, list);
    txn.onEnd.push(() => {
      const remaining = (this.#building.get(tableName) ?? []).filter((b) => b !== building);
      if (remaining.length > 0) this.#building.set(tableName, remaining);
      else this.#building.delete(tableName);
    });
    const next = await this.replaceTable(txn, tableName, (current) => ({
      ...current,
      indexes: [...current.indexes, full],
    }));
    try {
      return await this.handle(next).buildIndex(txn, full.name);
    } catch (error) {
      if (error instanceof ExoError && error.sqlState === "23505") {
        throw new CatalogError("23505", `could not create unique index "${full.name}"`);
      }
      throw error;
    }
  }

  /** Drops secondary index `name` of `tableName` inside `txn` (its tree freed later). */
  async dropIndex(txn: Transaction, tableName: string, name: string): Promise<void> {
    let removed: IndexDef | undefined;
    const next = await this.replaceTable(txn, tableName, (current) => {
      removed = current.indexes.find((i) => i.name === name);
      return { ...current, indexes: current.indexes.filter((i) => i.name !== name) };
    });
    assert(removed !== undefined && !next.indexes.some((i) => i.name === name), "index removed");
    this.dropLater(txn, [this.storage.openTree(removed.root, removed.treeId)]);
  }

  /**
   * Takes `def`'s exclusive lock for `txn` before DDL that replaces or drops its storage: waits
   * for the table's other writers and DDL to end (dbengine/table_locks.ts). True when it
   * waited: what committed meanwhile (rows, a new definition) is missing from the caller's
   * snapshot.
   */
  lockForDdl(txn: Transaction, def: TableDef): Promise<boolean> {
    return this.tableLocks.exclusive(txn, def.id);
  }

  /** Drops table `name` inside `txn`; its pages are freed once the drop is visible to all. */
  async dropTable(txn: Transaction, name: string): Promise<boolean> {
    this.#writing(txn);
    let dropped: TableDef | undefined;
    await this.#rows.write(txn, catalogKey("table", name), "delete", (current) => {
      dropped = fromJson(current!);
      return null;
    });
    if (dropped === undefined) return false;
    await this.#rows.write(txn, catalogKey("stats", name), "delete", () => null);
    const trees = this.handle(dropped).trees();
    txn.afterCommitVisible.push(() => {
      for (const tree of trees) tree.drop();
    });
    return true;
  }

  /** New empty trees for a table's storage (TRUNCATE, primary key rebuilds), freed on rollback. */
  newTree(txn: Transaction): { root: number; treeId: number } {
    const tree = this.#log.run(txn.id, () => this.storage.createTree());
    txn.undo.push(() => tree.drop());
    return { root: tree.root, treeId: tree.treeId };
  }

  /** Frees `trees` once the transaction's commit is visible to every snapshot. */
  dropLater(txn: Transaction, trees: BTree[]): void {
    txn.afterCommitVisible.push(() => {
      for (const tree of trees) tree.drop();
    });
  }

  /** The next value of sequence `name` (created at 1 on first use). Never rolled back. */
  nextval(name: string): bigint {
    let state = this.#sequenceState.get(name);
    if (state === undefined) {
      const stored = this.#sequences.get(sequenceKey(name));
      const logged = stored === undefined
        ? 0n
        : new DataView(stored.buffer, stored.byteOffset).getBigUint64(0, true);
      state = { next: logged + 1n, logged };
      this.#sequenceState.set(name, state);
    }
    const value = state.next++;
    if (value > state.logged) {
      state.logged = value + sequenceCacheSize - 1n;
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, state.logged, true);
      this.#log.run(0, () => this.#sequences.put(sequenceKey(name), bytes));
    }
    return value;
  }

  /** The definition of CREATE SEQUENCE `name` visible at `snapshot`, or null. */
  sequence(name: string, txn: Transaction | undefined, snapshot: number): SequenceDef | null {
    const bytes = this.#rows.get(catalogKey("sequence", name), txn, snapshot);
    return bytes === null ? null : fromJson(bytes) as unknown as SequenceDef;
  }

  /** Creates sequence `name` inside `txn` (42P07 when the name is taken). */
  async createSequence(txn: Transaction, def: SequenceDef): Promise<void> {
    this.#writing(txn);
    await this.#rows.write(txn, catalogKey("sequence", def.name), "upsert", (current) => {
      if (current !== null) {
        throw new CatalogError("42P07", `relation "${def.name}" already exists`);
      }
      return toJson(def as never);
    });
  }

  /** Drops sequence `name` inside `txn`; false when there is none. */
  async dropSequence(txn: Transaction, name: string): Promise<boolean> {
    this.#writing(txn);
    let found = false;
    await this.#rows.write(txn, catalogKey("sequence", name), "delete", () => {
      found = true;
      return null;
    });
    if (found) txn.afterCommitVisible.push(() => this.resetSequence(name));
    return found;
  }

  /** Forgets the counter of sequence `name` (after DROP SEQUENCE, so a new one starts over). */
  resetSequence(name: string): void {
    this.#sequenceState.delete(name);
    this.#log.run(0, () => this.#sequences.delete(sequenceKey(name)));
  }

  /** Sets a sequence so the next value is `value + 1` (setval; not rolled back). */
  setval(name: string, value: bigint): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    this.#log.run(0, () => this.#sequences.put(sequenceKey(name), bytes));
    this.#sequenceState.set(name, { next: value + 1n, logged: value });
  }

  #withTrees(txn: Transaction, def: NewTableDef): TableDef {
    const primary = this.newTree(txn);
    const indexes = def.indexes.map((index) => ({ ...index, ...this.newTree(txn) }));
    return { ...def, id: primary.treeId, root: primary.root, treeId: primary.treeId, indexes };
  }
}

function sequenceKey(name: string): Uint8Array {
  const writer = new KeyWriter();
  encodeKeyComponent(writer, TypeId.text, name);
  return writer.finish();
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** A value for `missing` when no default applies. */
export const noMissingValue: SqlValue = null;
