/**
 * Bulk load in key order: rows whose primary keys ascend above every row of the table go
 * straight to the row tree (VersionedTree.appendNewKeys), a page-change group per batch, with
 * no per-row lock check, unique probe or SQL evaluation. For loading benchmark and restore data;
 * the rows are ordinary versions of `txn` (visible on commit, removed on rollback).
 */
import { ExoError } from "../lib/errors.ts";
import type { Table } from "./table.ts";
import type { Transaction } from "./txn.ts";
import type { SqlValue } from "./types.ts";

/**
 * A page-change group ends after this many rows or bytes of keys and rows: a few pages of
 * images, well inside the log space a group reserves (page_store.ts: 32 pages).
 */
const rowsPerGroup = 512;
const bytesPerGroup = 64 * 1024;

/**
 * Appends `rows` (full rows in column order, primary keys ascending above the table's) to
 * `table` for `txn`. The table must have a primary key and no secondary index. Returns the
 * number of rows written.
 */
export function bulkAppendSorted(
  table: Table,
  txn: Transaction,
  rows: Iterable<readonly SqlValue[]>,
): number {
  const def = table.def;
  if (
    def.primaryKey.length === 0 || def.indexes.length > 0 || def.checks.length > 0 ||
    table.buildingIndexes().length > 0
  ) {
    throw new ExoError(
      "0A000",
      `bulk append needs a primary key, no secondary index and no CHECK (table "${def.name}")`,
    );
  }
  let written = 0;
  let batch: { key: Uint8Array; row: Uint8Array }[] = [];
  let batchBytes = 0;
  const flush = () => {
    table.rows.appendNewKeys(txn, batch);
    written += batch.length;
    batch = [];
    batchBytes = 0;
  };
  for (const values of rows) {
    table.checkNotNull(values);
    const entry = { key: table.rowKey(values), row: table.encode(values) };
    batch.push(entry);
    batchBytes += entry.key.length + entry.row.length;
    if (batch.length === rowsPerGroup || batchBytes >= bytesPerGroup) flush();
  }
  flush();
  return written;
}
