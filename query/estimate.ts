/**
 * Row estimates for plan nodes: the planner's simple cost model, fed by ANALYZE's statistics
 * (row counts, distinct counts, NULL fractions) and PostgreSQL's default selectivities where
 * nothing is known (equality 0.005, ranges 1/3, 1000 rows for a table never analyzed).
 */
import type { TableStatistics } from "../dbengine/catalog.ts";
import type { Table } from "../dbengine/table.ts";
import type { Expr, PlanNode } from "./plan.ts";

/** Rows assumed for a table without statistics. */
export const defaultTableRows = 1000;
const equalitySelectivity = 0.005;
const rangeSelectivity = 1 / 3;
const defaultGroups = 200;
const mirror: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** Statistics of a table, or null when it was never analyzed. */
export type StatisticsLookup = (table: Table) => TableStatistics | null;

/** Estimates of the rows plan nodes produce, computed once per node. */
export class RowEstimator {
  readonly #stats: StatisticsLookup;
  readonly #memo = new Map<PlanNode, number>();

  constructor(stats: StatisticsLookup) {
    this.#stats = stats;
  }

  /** Estimated rows `node` produces (at least 1, as PostgreSQL prints). */
  rows(node: PlanNode): number {
    const known = this.#memo.get(node);
    if (known !== undefined) return known;
    const rows = Math.max(1, Math.round(this.#estimate(node)));
    this.#memo.set(node, rows);
    return rows;
  }

  #tableRows(table: Table): number {
    return this.#stats(table)?.rowCount ?? defaultTableRows;
  }

  /** Distinct values of output column `index` of `node`, where a table column lies behind it. */
  distinct(node: PlanNode, index: number): number | undefined {
    switch (node.kind) {
      case "scan":
      case "indexScan": {
        const count = this.#stats(node.table)?.distinctCounts[index];
        return count === undefined || count === 0 ? undefined : count;
      }
      case "filter":
      case "sort":
      case "limit":
      case "materialize":
      case "distinct":
        return this.distinct(node.input, index);
      case "project": {
        const expr = node.exprs[index];
        return expr?.kind === "column" ? this.distinct(node.input, expr.index) : undefined;
      }
      case "join": {
        const leftWidth = node.left.columns.length;
        return index < leftWidth
          ? this.distinct(node.left, index)
          : this.distinct(node.right, index - leftWidth);
      }
      default:
        return undefined;
    }
  }

  /** Fraction of `input`'s rows for which `predicate` holds. */
  selectivity(predicate: Expr, input: PlanNode): number {
    switch (predicate.kind) {
      case "and":
        return predicate.args.reduce((s, a) => s * this.selectivity(a, input), 1);
      case "or":
        return Math.min(1, predicate.args.reduce((s, a) => s + this.selectivity(a, input), 0));
      case "not":
        return 1 - this.selectivity(predicate.arg, input);
      case "isNull":
        return predicate.negated ? 1 - equalitySelectivity : equalitySelectivity;
      case "call": {
        if (predicate.name === "=") {
          const column = predicate.args.find((a) => a.kind === "column");
          const distinct = column?.kind === "column"
            ? this.distinct(input, column.index)
            : undefined;
          return distinct === undefined ? equalitySelectivity : 1 / distinct;
        }
        if (["<", "<=", ">", ">="].includes(predicate.name)) {
          return this.#rangeSelectivity(predicate, input) ?? rangeSelectivity;
        }
        if (predicate.name === "<>") return 1 - equalitySelectivity;
        return rangeSelectivity;
      }
      default:
        return rangeSelectivity;
    }
  }

  /** Table statistics behind output column `index` of `node` (scans and what passes rows). */
  #columnStats(
    node: PlanNode,
    index: number,
  ): { stats: TableStatistics; column: number } | undefined {
    switch (node.kind) {
      case "scan":
      case "indexScan": {
        const stats = this.#stats(node.table);
        return stats === null ? undefined : { stats, column: index };
      }
      case "filter":
      case "sort":
      case "limit":
      case "materialize":
        return this.#columnStats(node.input, index);
      default:
        return undefined;
    }
  }

  /** `column op constant` against the column's sampled range, linearly interpolated. */
  #rangeSelectivity(
    predicate: Extract<Expr, { kind: "call" }>,
    input: PlanNode,
  ): number | undefined {
    const [a, b] = predicate.args;
    const flipped = a?.kind !== "column";
    const column = flipped ? b : a;
    const constant = flipped ? a : b;
    if (column?.kind !== "column" || constant?.kind !== "const") return undefined;
    const value = typeof constant.value === "number" || typeof constant.value === "bigint"
      ? Number(constant.value)
      : undefined;
    const found = this.#columnStats(input, column.index);
    const range = found?.stats.ranges?.[found.column];
    if (value === undefined || range === undefined || range === null) return undefined;
    const [low, high] = range;
    const below = high === low ? (value >= low ? 1 : 0) : (value - low) / (high - low);
    const lessThan = Math.min(1, Math.max(0, below));
    const op = flipped ? mirror[predicate.name]! : predicate.name;
    const fraction = op === "<" || op === "<=" ? lessThan : 1 - lessThan;
    return Math.max(fraction, 1 / Math.max(1, found!.stats.rowCount));
  }

  #estimate(node: PlanNode): number {
    switch (node.kind) {
      case "scan": {
        if (node.lookup !== undefined) return 1;
        const rows = this.#tableRows(node.table);
        const bounds = (node.lower ? 1 : 0) + (node.upper ? 1 : 0);
        if (bounds === 0) return rows;
        const key = node.table.def.primaryKey[0]!;
        const range = this.#stats(node.table)?.ranges?.[key];
        const bound = (b: typeof node.lower) =>
          b?.values[0]?.kind === "const" ? Number(b.values[0].value) : undefined;
        const lower = bound(node.lower);
        const upper = bound(node.upper);
        if (range !== undefined && range !== null && range[1] > range[0]) {
          const [low, high] = range;
          const from = lower === undefined ? low : Math.max(low, lower);
          const to = upper === undefined ? high : Math.min(high, upper);
          return rows * Math.max(0, (to - from) / (high - low));
        }
        return rows * (bounds === 1 ? rangeSelectivity : 0.1);
      }
      case "indexScan": {
        const index = node.table.def.indexes.find((i) => i.name === node.index);
        if (index?.unique && node.equal.length === index.columns.length) return 1;
        let rows = this.#tableRows(node.table);
        node.equal.forEach((_, i) => {
          const column = index?.columns[i]?.column;
          const distinct = column === undefined ? undefined : this.distinct(node, column);
          rows *= distinct === undefined ? equalitySelectivity : 1 / distinct;
        });
        return rows;
      }
      case "values":
        return node.rows.length;
      case "system":
        return defaultTableRows;
      case "function":
        return seriesLength(node) ?? defaultTableRows;
      case "filter":
        return this.rows(node.input) * this.selectivity(node.predicate, node.input);
      case "project":
      case "sort":
      case "materialize":
        return this.rows(node.input);
      case "limit": {
        const input = this.rows(node.input);
        const limit = node.limit?.kind === "const" ? Number(node.limit.value) : undefined;
        const offset = node.offset?.kind === "const" ? Number(node.offset.value) : 0;
        const rest = Math.max(0, input - offset);
        return limit === undefined ? rest : Math.min(rest, limit);
      }
      case "join": {
        const left = this.rows(node.left);
        const right = this.rows(node.right);
        let rows: number;
        if (node.hashKeys !== undefined) {
          let distinct = 1;
          node.hashKeys.left.forEach((l, i) => {
            const r = node.hashKeys!.right[i]!;
            const dl = l.kind === "column" ? this.distinct(node.left, l.index) : undefined;
            const dr = r.kind === "column" ? this.distinct(node.right, r.index) : undefined;
            distinct *= Math.max(dl ?? Math.max(left, right), dr ?? 1);
          });
          rows = (left * right) / Math.max(1, distinct);
        } else {
          rows = left * right * (node.condition === undefined ? 1 : rangeSelectivity);
        }
        if (node.joinType === "left") rows = Math.max(rows, left);
        if (node.joinType === "right") rows = Math.max(rows, right);
        if (node.joinType === "full") rows = Math.max(rows, left + right);
        return rows;
      }
      case "aggregate": {
        if (node.groupBy.length === 0) return 1;
        const input = this.rows(node.input);
        let groups = 1;
        for (const key of node.groupBy) {
          const distinct = key.kind === "column" ? this.distinct(node.input, key.index) : undefined;
          groups *= distinct ?? defaultGroups;
        }
        return Math.min(input, groups);
      }
      case "distinct":
        return Math.min(this.rows(node.input), defaultGroups);
      case "setOp": {
        const left = this.rows(node.left);
        const right = this.rows(node.right);
        if (node.op === "union") return left + right;
        return node.op === "intersect" ? Math.min(left, right) : left;
      }
    }
  }
}

function seriesLength(node: Extract<PlanNode, { kind: "function" }>): number | undefined {
  if (node.name !== "generate_series") return undefined;
  const [start, stop, step] = node.args.map((a) => (a.kind === "const" ? a.value : undefined));
  if (typeof start !== "number" || typeof stop !== "number") return undefined;
  const by = typeof step === "number" && step !== 0 ? step : 1;
  return Math.max(0, Math.floor((stop - start) / by) + 1);
}
