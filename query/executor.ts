/**
 * The executor: evaluates bound expressions (three-valued logic, strict functions, subqueries)
 * and runs plan nodes as demand-pulled streams of row batches. Long operators yield to the
 * event loop between batches (`ctx.yieldPoint`), so other sessions and background work run;
 * cancellation and statement timeouts are checked there too.
 */
import { type Interval, type SqlValue, TypeId } from "../dbengine/types.ts";
import type { Transaction } from "../dbengine/txn.ts";
import { encodeKeyComponent, KeyWriter } from "../dbengine/key_codec.ts";
import type { CallContext } from "./functions.ts";
import { numericAdd, numericCompare } from "./numeric.ts";
import { timestampPlusInterval } from "./operators.ts";
import { DataError } from "./pg_text.ts";
import type { Expr, KeyBound, PlanNode, SortKey } from "./plan.ts";
import { collectNow, indexMatches, limitCounts } from "./plan_now.ts";
import { evaluateNow, isPlainExpr, passesNow, valuesNow } from "./expr_now.ts";
import { intervalSpanMicros } from "../dbengine/types.ts";

/** A row: one value per output column. */
export type Row = SqlValue[];

/** What a statement's execution carries. */
export interface ExecContext {
  txn: Transaction | undefined;
  snapshot: number;
  params: SqlValue[];
  call: CallContext;
  /** Rows of enclosing queries, innermost last (correlated subqueries). */
  outer: Row[];
  /** Materialized CTEs and FROM subqueries of this execution. */
  materialized: Map<number, Row[]>;
  /** Called between batches: cancellation, timeouts, and a chance for others to run. */
  yieldPoint(): Promise<void>;
  /** Per-node actual rows, loops and times (EXPLAIN ANALYZE); undefined when not profiling. */
  profile?: Map<PlanNode, NodeProfile> | undefined;
}

/** What EXPLAIN ANALYZE reports of one plan node. */
export interface NodeProfile {
  rows: number;
  loops: number;
  /** Time to the first batch and in total, children included, summed over loops (ms). */
  firstMs: number;
  totalMs: number;
}

const batchRows = 256;

// ---------------------------------------------------------------- expressions

function truth(value: SqlValue): boolean | null {
  return value === null ? null : value === true;
}

/**
 * The rows of a subquery evaluated for `row`. An uncorrelated one (`cacheId` set) runs once per
 * execution. A correlated one runs again per row, with its own copy of the materialized map:
 * FROM subqueries inside it may depend on the enclosing row and must not be reused for the next.
 */
async function subqueryRows(
  plan: PlanNode,
  cacheId: number | undefined,
  row: Row,
  ctx: ExecContext,
  limit?: number,
): Promise<Row[]> {
  if (cacheId !== undefined) {
    const cached = ctx.materialized.get(cacheId);
    if (cached !== undefined) return cached;
    const rows = await collect(plan, ctx, limit);
    ctx.materialized.set(cacheId, rows);
    return rows;
  }
  const inner = { ...ctx, outer: [...ctx.outer, row], materialized: new Map(ctx.materialized) };
  return await collect(plan, inner, limit);
}

/**
 * Evaluates `expr` on `row`. A tree without subqueries runs at once (expr_now.ts); this awaiting
 * path walks only the nodes above a subquery, and their plain subtrees take the quick path too.
 * Per-row callers use `evaluateNow`, `passesNow` or `valuesNow` first, saving the promise.
 */
export async function evaluate(expr: Expr, row: Row, ctx: ExecContext): Promise<SqlValue> {
  if (isPlainExpr(expr)) return evaluateNow(expr, row, ctx);
  switch (expr.kind) {
    case "call": {
      const args: SqlValue[] = [];
      for (const arg of expr.args) {
        const value = await evaluate(arg, row, ctx);
        if (value === null && expr.strict) return null;
        args.push(value);
      }
      return expr.fn(args, ctx.call);
    }
    case "and": {
      let sawNull = false;
      for (const arg of expr.args) {
        const value = truth(await evaluate(arg, row, ctx));
        if (value === false) return false;
        if (value === null) sawNull = true;
      }
      return sawNull ? null : true;
    }
    case "or": {
      let sawNull = false;
      for (const arg of expr.args) {
        const value = truth(await evaluate(arg, row, ctx));
        if (value === true) return true;
        if (value === null) sawNull = true;
      }
      return sawNull ? null : false;
    }
    case "not": {
      const value = truth(await evaluate(expr.arg, row, ctx));
      return value === null ? null : !value;
    }
    case "isNull": {
      const value = await evaluate(expr.arg, row, ctx);
      return (value === null) !== expr.negated;
    }
    case "isBool": {
      const value = truth(await evaluate(expr.arg, row, ctx));
      const matches = expr.test === "unknown" ? value === null : value === (expr.test === "true");
      return matches !== expr.negated;
    }
    case "distinct": {
      const a = await evaluate(expr.left, row, ctx);
      const b = await evaluate(expr.right, row, ctx);
      const same = a === null || b === null ? a === b : expr.equal(a, b);
      return same === expr.negated; // IS DISTINCT FROM is "not same"
    }
    case "case": {
      for (const { when, then } of expr.whens) {
        if (truth(await evaluate(when, row, ctx)) === true) return evaluate(then, row, ctx);
      }
      return expr.otherwise === undefined ? null : evaluate(expr.otherwise, row, ctx);
    }
    case "coalesce": {
      for (const arg of expr.args) {
        const value = await evaluate(arg, row, ctx);
        if (value !== null) return value;
      }
      return null;
    }
    case "inList": {
      const value = await evaluate(expr.arg, row, ctx);
      if (value === null) return null;
      let sawNull = false;
      for (const item of expr.list) {
        const candidate = await evaluate(item, row, ctx);
        if (candidate === null) sawNull = true;
        else if (expr.equal(value, candidate)) return !expr.negated;
      }
      return sawNull ? null : expr.negated;
    }
    case "subquery": {
      const rows = await subqueryRows(expr.plan, expr.cacheId, row, ctx, 2);
      if (rows.length > 1) {
        throw new DataError(
          "21000",
          "more than one row returned by a subquery used as an expression",
        );
      }
      return rows[0]?.[0] ?? null;
    }
    case "arraySubquery": {
      const rows = await collect(expr.plan, { ...ctx, outer: [...ctx.outer, row] });
      return rows.map((r) => r[0] ?? null) as unknown as SqlValue;
    }
    case "exists": {
      const rows = await subqueryRows(expr.plan, expr.cacheId, row, ctx, 1);
      return (rows.length > 0) !== expr.negated;
    }
    case "quantified": {
      const value = await evaluate(expr.arg, row, ctx);
      const rows = await subqueryRows(expr.plan, expr.cacheId, row, ctx);
      let result: boolean | null = expr.all;
      for (const candidate of rows) {
        const other = candidate[0] ?? null;
        const outcome = value === null || other === null ? null : expr.compare(value, other);
        if (expr.all) {
          if (outcome === false) {
            result = false;
            break;
          }
          if (outcome === null) result = null;
        } else {
          if (outcome === true) {
            result = true;
            break;
          }
          if (outcome === null) result = null;
        }
      }
      if (rows.length === 0) result = expr.all;
      return result === null ? null : result !== expr.negated;
    }
    case "array": {
      const out: SqlValue[] = [];
      for (const element of expr.elements) out.push(await evaluate(element, row, ctx));
      return out as unknown as SqlValue;
    }
    default: // leaves are plain: handled above
      return evaluateNow(expr, row, ctx);
  }
}

/** True when a predicate is true (NULL and false filter out). */
export async function passes(expr: Expr, row: Row, ctx: ExecContext): Promise<boolean> {
  return (await evaluate(expr, row, ctx)) === true;
}

/** The values of `exprs` on `row`, in order (the awaiting path beside `valuesNow`). */
async function valuesOf(exprs: readonly Expr[], row: Row, ctx: ExecContext): Promise<SqlValue[]> {
  const values: SqlValue[] = [];
  for (const expr of exprs) values.push(await evaluate(expr, row, ctx));
  return values;
}

// ---------------------------------------------------------------- grouping keys

const keyWriter = new KeyWriter();

/** A Map key equal exactly for SQL-equal values (see {@link groupKey}). */
export type GroupKey = string | number | bigint;

/**
 * A Map key that is equal for SQL-equal values (numeric scales, char padding, interval spans).
 * A single integer, float, text or varchar value is its own key: Map's SameValueZero equality
 * is SQL equality for them (0 = -0, NaN = NaN as PostgreSQL sorts and groups them, strings
 * byte for byte as the C collation compares). Other keys are order-preserving key encodings.
 */
export function groupKey(values: readonly SqlValue[], types: readonly { id: number }[]): GroupKey {
  if (values.length === 1) {
    const id = types[0]?.id;
    if (
      id === TypeId.smallint || id === TypeId.integer || id === TypeId.bigint ||
      id === TypeId.real || id === TypeId.double || id === TypeId.text || id === TypeId.varchar
    ) {
      const value = values[0]!;
      if (typeof value === "number" || typeof value === "bigint" || typeof value === "string") {
        // Integers and bigints of one column share a type, so 1 and 1n never meet in one map.
        return value;
      }
    }
  }
  keyWriter.reset();
  let extra = "";
  values.forEach((value, i) => {
    const id = types[i]?.id ?? TypeId.text;
    if (id >= 100 || id === 0) {
      extra += `\u0001${
        JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v)
      }`;
      return;
    }
    encodeKeyComponent(keyWriter, id as never, value);
  });
  const bytes = keyWriter.finish();
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
  return text + extra;
}

// ---------------------------------------------------------------- plan execution

/** Runs `node` to completion (or `limit` rows) and returns its rows. */
export async function collect(node: PlanNode, ctx: ExecContext, limit = Infinity): Promise<Row[]> {
  if (limit === Infinity) {
    const now = collectNow(node, ctx); // point lookups and VALUES: no generator, no promise
    if (now !== undefined) return now;
  }
  const out: Row[] = [];
  for await (const batch of execute(node, ctx)) {
    for (const row of batch) {
      out.push(row);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

async function boundKey(
  bound: KeyBound | undefined,
  node: Extract<PlanNode, { kind: "scan" }>,
  ctx: ExecContext,
) {
  if (bound === undefined) return undefined;
  const values: SqlValue[] = [];
  for (const expr of bound.values) values.push(await evaluate(expr, [], ctx));
  if (values.some((v) => v === null)) return null; // a NULL bound matches nothing
  // The shared writer: from here to finish() nothing awaits, so no other key interleaves.
  const writer = keyWriter.reset();
  values.forEach((value, i) => {
    const column = node.table.def.columns[node.table.def.primaryKey[i]!]!;
    encodeKeyComponent(writer, column.type.id, value);
  });
  return writer.finish();
}

/** Runs a plan node as a stream of row batches. */
export function execute(node: PlanNode, ctx: ExecContext): AsyncGenerator<Row[]> {
  return ctx.profile === undefined ? executeNode(node, ctx) : profiled(node, ctx, ctx.profile);
}

/** `executeNode` with its rows and the time spent producing them recorded. */
async function* profiled(
  node: PlanNode,
  ctx: ExecContext,
  profile: Map<PlanNode, NodeProfile>,
): AsyncGenerator<Row[]> {
  let entry = profile.get(node);
  if (entry === undefined) {
    entry = { rows: 0, loops: 0, firstMs: 0, totalMs: 0 };
    profile.set(node, entry);
  }
  entry.loops++;
  const rows = executeNode(node, ctx);
  let elapsedMs = 0;
  let first = true;
  try {
    for (;;) {
      const start = performance.now();
      const next = await rows.next();
      elapsedMs += performance.now() - start;
      if (first) {
        entry.firstMs += elapsedMs;
        first = false;
      }
      if (next.done) break;
      entry.rows += next.value.length;
      yield next.value;
    }
  } finally {
    entry.totalMs += elapsedMs; // also when the consumer stops early (LIMIT)
    await rows.return(undefined);
  }
}

async function* executeNode(node: PlanNode, ctx: ExecContext): AsyncGenerator<Row[]> {
  switch (node.kind) {
    case "scan": {
      if (node.lookup !== undefined) {
        const values: SqlValue[] = [];
        for (const expr of node.lookup) values.push(await evaluate(expr, [], ctx));
        if (values.some((v) => v === null)) return;
        const row = node.table.getByPrimaryKey(values, ctx.txn, ctx.snapshot);
        if (row !== null) yield [row];
        return;
      }
      const lower = await boundKey(node.lower, node, ctx);
      const upper = await boundKey(node.upper, node, ctx);
      if (lower === null || upper === null) return;
      let start = node.reverse ? upper : lower;
      let startInclusive = (node.reverse ? node.upper?.inclusive : node.lower?.inclusive) ?? true;
      const end = node.reverse ? lower : upper;
      const endInclusive = (node.reverse ? node.lower?.inclusive : node.upper?.inclusive) ?? true;
      for (;;) {
        const rows = node.table.scan(ctx.txn, ctx.snapshot, {
          ...(start !== undefined ? { start, startInclusive } : {}),
          ...(end !== undefined ? { end, endInclusive } : {}),
          reverse: node.reverse,
          limit: batchRows,
        });
        if (rows.length > 0) yield rows.map((r) => r.values);
        if (rows.length < batchRows) return;
        start = rows[rows.length - 1]!.key;
        startInclusive = false;
        await ctx.yieldPoint();
      }
    }
    case "indexScan": {
      const values: SqlValue[] = [];
      for (const expr of node.equal) values.push(await evaluate(expr, [], ctx));
      if (values.some((v) => v === null)) return;
      const rows = indexMatches(node, values, ctx);
      for (let i = 0; i < rows.length; i += batchRows) yield rows.slice(i, i + batchRows);
      return;
    }
    case "values": {
      const out: Row[] = [];
      for (const exprs of node.rows) {
        out.push(valuesNow(exprs, [], ctx) ?? await valuesOf(exprs, [], ctx));
      }
      if (out.length > 0) yield out;
      return;
    }
    case "function":
      yield* functionScan(node, ctx);
      return;
    case "system": {
      if (ctx.call.session === undefined) {
        throw new DataError("XX000", `relation "${node.relation}" needs a SQL session`);
      }
      const rows = node.rows(ctx.call.session);
      for (let i = 0; i < rows.length; i += batchRows) yield rows.slice(i, i + batchRows);
      return;
    }
    case "filter":
      for await (const batch of execute(node.input, ctx)) {
        const out: Row[] = [];
        for (const row of batch) {
          if (
            (passesNow(node.predicate, row, ctx) ?? await passes(node.predicate, row, ctx))
          ) out.push(row);
        }
        if (out.length > 0) yield out;
      }
      return;
    case "project":
      for await (const batch of execute(node.input, ctx)) {
        const out: Row[] = new Array(batch.length);
        for (let i = 0; i < batch.length; i++) {
          const row = batch[i]!;
          const projected: Row = new Array(node.exprs.length);
          for (let j = 0; j < node.exprs.length; j++) {
            projected[j] = isPlainExpr(node.exprs[j]!)
              ? evaluateNow(node.exprs[j]!, row, ctx)
              : await evaluate(node.exprs[j]!, row, ctx);
          }
          out[i] = projected;
        }
        yield out;
      }
      return;
    case "join":
      yield* join(node, ctx);
      return;
    case "aggregate":
      yield* aggregate(node, ctx);
      return;
    case "sort": {
      const rows = await collect(node.input, ctx);
      const keyed: { row: Row; keys: SqlValue[] }[] = [];
      for (const row of rows) {
        const keys: SqlValue[] = [];
        for (const key of node.keys) {
          keys.push(
            isPlainExpr(key.expr)
              ? evaluateNow(key.expr, row, ctx)
              : await evaluate(key.expr, row, ctx),
          );
        }
        keyed.push({ row, keys });
      }
      keyed.sort((a, b) => compareKeys(node.keys, a.keys, b.keys));
      for (let i = 0; i < keyed.length; i += batchRows) {
        yield keyed.slice(i, i + batchRows).map((k) => k.row);
      }
      return;
    }
    case "limit": {
      const counts = limitCounts(
        node.limit === undefined ? null : await evaluate(node.limit, [], ctx),
        node.offset === undefined ? null : await evaluate(node.offset, [], ctx),
      );
      let skip = counts.skip;
      let left = counts.limit;
      if (left === 0) return;
      for await (const batch of execute(node.input, ctx)) {
        let rows = batch;
        if (skip > 0) {
          const dropped = Math.min(skip, rows.length);
          rows = rows.slice(dropped);
          skip -= dropped;
        }
        if (rows.length > left) rows = rows.slice(0, left);
        left -= rows.length;
        if (rows.length > 0) yield rows;
        if (left <= 0) return;
      }
      return;
    }
    case "distinct": {
      const seen = new Set<GroupKey>();
      const types = node.on === undefined
        ? node.columns.map((c) => c.type)
        : node.on.map((e) => e.type);
      for await (const batch of execute(node.input, ctx)) {
        const out: Row[] = [];
        for (const row of batch) {
          const values = node.on === undefined
            ? row
            : await Promise.all(node.on.map((e) => evaluate(e, row, ctx)));
          const key = groupKey(values, types);
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(row);
        }
        if (out.length > 0) yield out;
      }
      return;
    }
    case "setOp":
      yield* setOperation(node, ctx);
      return;
    case "materialize": {
      let rows = ctx.materialized.get(node.id);
      if (rows === undefined) {
        rows = await collect(node.input, ctx);
        ctx.materialized.set(node.id, rows);
      }
      for (let i = 0; i < rows.length; i += batchRows) yield rows.slice(i, i + batchRows);
      return;
    }
  }
}

function compareKeys(
  keys: readonly SortKey[],
  a: readonly SqlValue[],
  b: readonly SqlValue[],
): number {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x === y) continue;
      // NULLs sort as larger than everything unless NULLS FIRST.
      const nullFirst = key.nullsFirst;
      return (x === null) === nullFirst ? -1 : 1;
    }
    const c = key.compare(x, y);
    if (c !== 0) return key.descending ? -c : c;
  }
  return 0;
}

/** `a` followed by `b` in a new row (faster than spreading both). */
function concatRows(a: Row, b: Row): Row {
  const out: Row = new Array(a.length + b.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]!;
  for (let i = 0; i < b.length; i++) out[a.length + i] = b[i]!;
  return out;
}

/** An index nested loop: the right plan runs once per left row, that row as its enclosing row. */
async function* lookupJoin(
  node: Extract<PlanNode, { kind: "join" }>,
  ctx: ExecContext,
): AsyncGenerator<Row[]> {
  const nullRight: Row = new Array(node.right.columns.length).fill(null);
  for await (const batch of execute(node.left, ctx)) {
    const out: Row[] = [];
    for (const left of batch) {
      const matches = await collect(node.right, { ...ctx, outer: [...ctx.outer, left] });
      let matched = false;
      for (const right of matches) {
        const combined = concatRows(left, right);
        if (
          node.condition !== undefined &&
          !(passesNow(node.condition, combined, ctx) ?? await passes(node.condition, combined, ctx))
        ) {
          continue;
        }
        matched = true;
        out.push(combined);
      }
      if (!matched && node.joinType === "left") out.push(concatRows(left, nullRight));
    }
    if (out.length > 0) yield out;
    await ctx.yieldPoint();
  }
}

async function* join(
  node: Extract<PlanNode, { kind: "join" }>,
  ctx: ExecContext,
): AsyncGenerator<Row[]> {
  if (node.lookup) {
    yield* lookupJoin(node, ctx);
    return;
  }
  const rightRows = await collect(node.right, ctx);
  const rightWidth = node.right.columns.length;
  const leftWidth = node.left.columns.length;
  const rightMatched = new Uint8Array(rightRows.length);
  const nullRight: Row = new Array(rightWidth).fill(null);
  // Hash join on equality keys; nested loops otherwise.
  let table: Map<GroupKey, number[]> | undefined;
  if (node.hashKeys !== undefined) {
    table = new Map();
    const types = node.hashKeys.right.map((e) => e.type);
    for (let i = 0; i < rightRows.length; i++) {
      const right = rightRows[i]!;
      const values = valuesNow(node.hashKeys.right, right, ctx) ??
        await valuesOf(node.hashKeys.right, right, ctx);
      if (values.some((v) => v === null)) continue;
      const key = groupKey(values, types);
      const list = table.get(key);
      if (list === undefined) table.set(key, [i]);
      else list.push(i);
    }
  }
  for await (const batch of execute(node.left, ctx)) {
    const out: Row[] = [];
    for (const left of batch) {
      let matched = false;
      let candidates: Iterable<number>;
      if (table !== undefined) {
        const values = valuesNow(node.hashKeys!.left, left, ctx) ??
          await valuesOf(node.hashKeys!.left, left, ctx);
        candidates = values.some((v) => v === null)
          ? []
          : table.get(groupKey(values, node.hashKeys!.left.map((e) => e.type))) ?? [];
      } else {
        candidates = rightRows.keys();
      }
      for (const i of candidates) {
        const combined = concatRows(left, rightRows[i]!);
        if (
          node.condition !== undefined &&
          !(passesNow(node.condition, combined, ctx) ?? await passes(node.condition, combined, ctx))
        ) {
          continue;
        }
        matched = true;
        rightMatched[i] = 1;
        out.push(combined);
      }
      if (!matched && (node.joinType === "left" || node.joinType === "full")) {
        out.push(concatRows(left, nullRight));
      }
    }
    if (out.length > 0) yield out;
    await ctx.yieldPoint();
  }
  if (node.joinType === "right" || node.joinType === "full") {
    const nullLeft: Row = new Array(leftWidth).fill(null);
    const out: Row[] = [];
    for (let i = 0; i < rightRows.length; i++) {
      if (!rightMatched[i]) out.push(concatRows(nullLeft, rightRows[i]!));
    }
    if (out.length > 0) yield out;
  }
}

async function* aggregate(
  node: Extract<PlanNode, { kind: "aggregate" }>,
  ctx: ExecContext,
): AsyncGenerator<Row[]> {
  interface Group {
    keys: SqlValue[];
    states: unknown[];
    distinct: Set<GroupKey>[];
    ordered: { args: SqlValue[]; sort: SqlValue[] }[][];
  }
  const groups = new Map<GroupKey, Group>();
  const keyTypes = node.groupBy.map((e) => e.type);
  const newGroup = (keys: SqlValue[]): Group => ({
    keys,
    states: node.aggregates.map((a) => a.aggregate.init()),
    distinct: node.aggregates.map(() => new Set<GroupKey>()),
    ordered: node.aggregates.map(() => []),
  });
  for await (const batch of execute(node.input, ctx)) {
    for (const row of batch) {
      const keys = valuesNow(node.groupBy, row, ctx) ?? await valuesOf(node.groupBy, row, ctx);
      const id = groupKey(keys, keyTypes);
      let group = groups.get(id);
      if (group === undefined) {
        group = newGroup(keys);
        groups.set(id, group);
      }
      for (let i = 0; i < node.aggregates.length; i++) {
        const call = node.aggregates[i]!;
        if (
          call.filter !== undefined &&
          !(passesNow(call.filter, row, ctx) ?? await passes(call.filter, row, ctx))
        ) continue;
        const args = valuesNow(call.args, row, ctx) ?? await valuesOf(call.args, row, ctx);
        if (!call.aggregate.acceptsNulls && args.some((a) => a === null)) continue;
        if (call.distinct) {
          const key = groupKey(args, call.aggregate.args);
          if (group.distinct[i]!.has(key)) continue;
          group.distinct[i]!.add(key);
        }
        if (call.orderBy.length > 0) {
          const sort: SqlValue[] = [];
          for (const key of call.orderBy) {
            sort.push(
              isPlainExpr(key.expr)
                ? evaluateNow(key.expr, row, ctx)
                : await evaluate(key.expr, row, ctx),
            );
          }
          group.ordered[i]!.push({ args, sort });
          continue;
        }
        group.states[i] = call.aggregate.step(group.states[i], args);
      }
    }
    await ctx.yieldPoint();
  }
  // Without GROUP BY there is exactly one group, even over no rows.
  if (groups.size === 0 && node.groupBy.length === 0) groups.set("", newGroup([]));
  const out: Row[] = [];
  for (const group of groups.values()) {
    const row: Row = [...group.keys];
    node.aggregates.forEach((call, i) => {
      let state = group.states[i];
      if (call.orderBy.length > 0) {
        const entries = group.ordered[i]!.sort((a, b) => compareKeys(call.orderBy, a.sort, b.sort));
        for (const entry of entries) state = call.aggregate.step(state, entry.args);
      }
      row.push(call.aggregate.final(state));
    });
    out.push(row);
  }
  for (let i = 0; i < out.length; i += batchRows) yield out.slice(i, i + batchRows);
}

async function* setOperation(
  node: Extract<PlanNode, { kind: "setOp" }>,
  ctx: ExecContext,
): AsyncGenerator<Row[]> {
  const types = node.columns.map((c) => c.type);
  const left = await collect(node.left, ctx);
  const right = await collect(node.right, ctx);
  const counts = (rows: Row[]) => {
    const map = new Map<GroupKey, { row: Row; count: number }>();
    for (const row of rows) {
      const key = groupKey(row, types);
      const entry = map.get(key);
      if (entry) entry.count++;
      else map.set(key, { row, count: 1 });
    }
    return map;
  };
  let out: Row[] = [];
  if (node.op === "union") {
    if (node.all) out = [...left, ...right];
    else out = [...counts([...left, ...right]).values()].map((e) => e.row);
  } else {
    const l = counts(left);
    const r = counts(right);
    for (const [key, entry] of l) {
      const other = r.get(key)?.count ?? 0;
      const n = node.op === "intersect"
        ? (node.all ? Math.min(entry.count, other) : (other > 0 ? 1 : 0))
        : (node.all ? Math.max(0, entry.count - other) : (other > 0 ? 0 : 1));
      for (let i = 0; i < n; i++) out.push(entry.row);
    }
  }
  for (let i = 0; i < out.length; i += batchRows) yield out.slice(i, i + batchRows);
}

async function* functionScan(
  node: Extract<PlanNode, { kind: "function" }>,
  ctx: ExecContext,
): AsyncGenerator<Row[]> {
  const args: SqlValue[] = [];
  for (const expr of node.args) args.push(await evaluate(expr, [], ctx));
  if (node.name === "unnest") {
    const list = (args[0] ?? []) as unknown as SqlValue[];
    if (list.length > 0) yield list.map((v) => [v]);
    return;
  }
  if (args.some((a) => a === null)) return;
  const type = node.columns[0]!.type;
  let batch: Row[] = [];
  const emit = async function* (value: SqlValue) {
    batch.push([value]);
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
      await ctx.yieldPoint();
    }
  };
  if (type.id === TypeId.timestamp || type.id === TypeId.timestamptz) {
    const [start, stop, step] = args as [number, number, Interval];
    const span = intervalSpanMicros(step);
    if (span === 0n) throw new DataError("22023", "step size cannot equal zero");
    for (let t = start; span > 0n ? t <= stop : t >= stop; t = timestampPlusInterval(t, step)) {
      yield* emit(t);
    }
  } else if (type.id === TypeId.numeric) {
    const [start, stop, step = "1"] = args as string[];
    if (numericCompare(step, "0") === 0) {
      throw new DataError("22023", "step size cannot equal zero");
    }
    const up = numericCompare(step, "0") > 0;
    for (
      let v = start!;
      up ? numericCompare(v, stop!) <= 0 : numericCompare(v, stop!) >= 0;
      v = numericAdd(v, step)
    ) yield* emit(v);
  } else if (type.id === TypeId.bigint) {
    const [start, stop, step = 1n] = args as bigint[];
    if (step === 0n) throw new DataError("22023", "step size cannot equal zero");
    for (let v = start!; step > 0n ? v <= stop! : v >= stop!; v += step) yield* emit(v);
  } else {
    const [start, stop, step = 1] = args as number[];
    if (step === 0) throw new DataError("22023", "step size cannot equal zero");
    for (let v = start!; step > 0 ? v <= stop! : v >= stop!; v += step) yield* emit(v);
  }
  if (batch.length > 0) yield batch;
}
