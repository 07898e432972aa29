/**
 * Plans run without awaiting. A point lookup by primary key or an equality index scan (both
 * read their rows at once and never yield), or a VALUES list, under projections, filters and
 * LIMIT/OFFSET whose expressions are plain (expr_now.ts), needs nothing asynchronous. Through
 * executor.ts's `collect` such a plan still costs an async generator per node and a promise per
 * batch and per `next()`: more than the lookup itself for pgbench's statements. `collectNow`
 * runs it as plain calls: the same rows in the same order, the same errors in the same order
 * (LIMIT and OFFSET are checked before the input runs, a NULL key matches nothing).
 *
 * Invariant: a plan runs here only when every node in it is one of those kinds with plain
 * expressions ({@link isPlanNow}, cached per node: plans are immutable once bound); anything
 * else (range scans, which yield every batch, joins, sorts, aggregates, functions, subqueries)
 * gets undefined and goes the awaiting way. EXPLAIN ANALYZE (a profiling context) does too.
 */
import { assert } from "../lib/assert.ts";
import type { SqlValue } from "../dbengine/types.ts";
import type { ExecContext, Row } from "./executor.ts";
import { evaluateNow, isPlainExpr } from "./expr_now.ts";
import { DataError } from "./pg_text.ts";
import type { Expr, PlanNode } from "./plan.ts";

const nowCache = new WeakMap<PlanNode, boolean>();

/** True when `node` and everything under it can run in {@link collectNow}. */
export function isPlanNow(node: PlanNode): boolean {
  let now = nowCache.get(node);
  if (now === undefined) {
    now = planNow(node, false);
    nowCache.set(node, now);
  }
  return now;
}

/**
 * `underLimit`: a LIMIT above stops pulling batches once it has its rows, so rows past it are
 * never filtered or projected. Run eagerly here, that is the same only where the leaf gives one
 * batch at most: a lookup (one row) and VALUES do; an index scan may give more, so under a LIMIT
 * it takes the awaiting path.
 */
function planNow(node: PlanNode, underLimit: boolean): boolean {
  switch (node.kind) {
    case "scan":
      return node.lookup !== undefined && node.lookup.every(isPlainExpr);
    case "indexScan":
      return !underLimit && node.equal.every(isPlainExpr);
    case "values":
      return node.rows.every((exprs) => exprs.every(isPlainExpr));
    case "filter":
      return isPlainExpr(node.predicate) && planNow(node.input, underLimit);
    case "project":
      return node.exprs.every(isPlainExpr) && planNow(node.input, underLimit);
    case "limit":
      return (node.limit === undefined || isPlainExpr(node.limit)) &&
        (node.offset === undefined || isPlainExpr(node.offset)) && planNow(node.input, true);
    default:
      return false;
  }
}

/** The rows of `node` (as `collect` returns them), or undefined when it must be awaited. */
export function collectNow(node: PlanNode, ctx: ExecContext): Row[] | undefined {
  if (ctx.profile !== undefined || !isPlanNow(node)) return undefined;
  return rowsNow(node, ctx);
}

/** The rows an equality index scan matches for `values` (read at once; executor.ts too). */
export function indexMatches(
  node: Extract<PlanNode, { kind: "indexScan" }>,
  values: SqlValue[],
  ctx: ExecContext,
): Row[] {
  const index = node.table.def.indexes.find((i) => i.name === node.index)!;
  const prefix = node.table.indexPrefix(index, values);
  return node.table.indexScan(node.index, ctx.txn, ctx.snapshot, {
    start: prefix,
    end: prefix,
    endInclusive: true,
  }).map((r) => r.values);
}

/** LIMIT and OFFSET values as counts (NULL: none); 2201W, 2201X when negative (executor.ts too). */
export function limitCounts(
  limitValue: SqlValue,
  offsetValue: SqlValue,
): { limit: number; skip: number } {
  const limit = limitValue === null ? Infinity : Number(limitValue);
  const skip = offsetValue === null ? 0 : Number(offsetValue);
  if (limit < 0) throw new DataError("2201W", "LIMIT must not be negative");
  if (skip < 0) throw new DataError("2201X", "OFFSET must not be negative");
  return { limit, skip };
}

/** The key values of a lookup, or undefined when one is NULL (all evaluated first, as there). */
function keyValues(exprs: readonly Expr[], ctx: ExecContext): SqlValue[] | undefined {
  const values = exprs.map((expr) => evaluateNow(expr, [], ctx));
  return values.some((v) => v === null) ? undefined : values;
}

/** executeNode's rows for the kinds above, all at once (see planNow for why that is the same). */
function rowsNow(node: PlanNode, ctx: ExecContext): Row[] {
  switch (node.kind) {
    case "scan": {
      const values = keyValues(node.lookup!, ctx);
      if (values === undefined) return [];
      const row = node.table.getByPrimaryKey(values, ctx.txn, ctx.snapshot);
      return row === null ? [] : [row];
    }
    case "indexScan": {
      const values = keyValues(node.equal, ctx);
      return values === undefined ? [] : indexMatches(node, values, ctx);
    }
    case "values":
      return node.rows.map((exprs) => exprs.map((expr) => evaluateNow(expr, [], ctx)));
    case "filter": {
      const out: Row[] = [];
      for (const row of rowsNow(node.input, ctx)) {
        if (evaluateNow(node.predicate, row, ctx) === true) out.push(row);
      }
      return out;
    }
    case "project": {
      const exprs = node.exprs;
      const rows = rowsNow(node.input, ctx);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const projected: Row = new Array(exprs.length);
        for (let j = 0; j < exprs.length; j++) projected[j] = evaluateNow(exprs[j]!, row, ctx);
        rows[i] = projected; // the input's array is this node's own (made just above)
      }
      return rows;
    }
    case "limit": {
      const { limit, skip } = limitCounts(
        node.limit === undefined ? null : evaluateNow(node.limit, [], ctx),
        node.offset === undefined ? null : evaluateNow(node.offset, [], ctx),
      );
      if (limit === 0) return [];
      return rowsNow(node.input, ctx).slice(skip, skip + limit);
    }
    default:
      assert(false, `collectNow on a ${node.kind} plan (not one isPlanNow accepts)`);
  }
}
