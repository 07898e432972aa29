/**
 * ANALYZE: row count (exact, from a full scan at the statement's snapshot) and per-column
 * distinct counts and NULL fractions from a uniform sample of at most `sampleRowsMax` rows
 * (reservoir sampling, seeded by the table id so a rerun on the same data gives the same
 * figures). Distinct counts of a partial sample are scaled with the Duj1 estimator of Haas and
 * Stokes (1998), as PostgreSQL's analyze.c does: n·d / (n − f1 + f1·n/N).
 */
import type { TableStatistics } from "../dbengine/catalog.ts";
import type { Table } from "../dbengine/table.ts";
import type { Transaction } from "../dbengine/txn.ts";
import type { SqlValue } from "../dbengine/types.ts";
import { Rng } from "../lib/rng.ts";
import { type GroupKey, groupKey } from "./executor.ts";

/** Rows kept in the sample (PostgreSQL's 300 × default_statistics_target 100). */
export const sampleRowsMax = 30_000;

/** Measures `table` as `txn` sees it at `snapshot`. */
export async function analyzeTable(
  table: Table,
  txn: Transaction | undefined,
  snapshot: number,
  yieldPoint: () => Promise<void>,
): Promise<TableStatistics> {
  const rng = new Rng(table.def.id);
  const sample: SqlValue[][] = [];
  let rowCount = 0;
  let start: Uint8Array | undefined;
  for (;;) {
    const rows = table.scan(txn, snapshot, {
      ...(start !== undefined ? { start, startInclusive: false } : {}),
      limit: 256,
    });
    for (const row of rows) {
      rowCount++;
      if (sample.length < sampleRowsMax) sample.push(row.values);
      else {
        const slot = Math.floor(rng.nextFloat() * rowCount);
        if (slot < sampleRowsMax) sample[slot] = row.values;
      }
    }
    if (rows.length < 256) break;
    start = rows[rows.length - 1]!.key;
    await yieldPoint();
  }
  const distinctCounts: number[] = [];
  const nullFractions: number[] = [];
  const ranges: ([number, number] | null)[] = [];
  table.def.columns.forEach((column, index) => {
    if (column.dropped || sample.length === 0) {
      distinctCounts.push(0);
      nullFractions.push(0);
      ranges.push(null);
      return;
    }
    let low = Infinity;
    let high = -Infinity;
    const seen = new Map<GroupKey, number>();
    let nulls = 0;
    const types = [column.type];
    for (const values of sample) {
      const value = values[index] ?? null;
      if (value === null) nulls++;
      else {
        if (typeof value === "number" || typeof value === "bigint") {
          const n = Number(value);
          if (n < low) low = n;
          if (n > high) high = n;
        }
        const key = groupKey([value], types);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    const n = sample.length - nulls;
    const d = seen.size;
    let distinct = d;
    if (sample.length < rowCount && n > 0) {
      let f1 = 0;
      for (const count of seen.values()) if (count === 1) f1++;
      const total = rowCount * (n / sample.length); // non-NULL rows in the table
      distinct = Math.min(total, (n * d) / (n - f1 + (f1 * n) / total));
    }
    distinctCounts.push(Math.round(distinct));
    nullFractions.push(nulls / sample.length);
    ranges.push(low <= high ? [low, high] : null);
  });
  return { rowCount, distinctCounts, nullFractions, ranges };
}
