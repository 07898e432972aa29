/**
 * EXPLAIN output: the plan tree in PostgreSQL's text layout (node name, estimated rows, and
 * under ANALYZE the actual time, rows and loops), with the conditions each node applies.
 * Projections are transparent, as in PostgreSQL; a filter is shown on the node it filters.
 */
import type { NodeProfile } from "./executor.ts";
import type { RowEstimator } from "./estimate.ts";
import { formatValue } from "./pg_text.ts";
import type { Expr, PlanNode } from "./plan.ts";
import { storable, typeName } from "./sql_types.ts";

/** What to print beside each node. */
export interface ExplainOptions {
  estimator: RowEstimator;
  costs: boolean;
  /** Actual figures by node (EXPLAIN ANALYZE), with or without times. */
  profile: Map<PlanNode, NodeProfile> | undefined;
  timing: boolean;
}

/** The EXPLAIN lines of `plan`. */
export function explainPlan(plan: PlanNode, options: ExplainOptions): string[] {
  const lines: string[] = [];
  const subplans = { next: 1 };
  printNode(plan, 0, true, options, lines, subplans);
  return lines;
}

interface Described {
  title: string;
  details: string[];
  children: PlanNode[];
  /** The node whose figures are shown (a folded filter shows its own). */
  figuresOf: PlanNode;
  /** Rows a folded filter removed (under ANALYZE). */
  removedBy?: PlanNode;
}

function printNode(
  node: PlanNode,
  depth: number,
  top: boolean,
  options: ExplainOptions,
  lines: string[],
  subplans: { next: number },
): void {
  // Projections print nothing of their own.
  while (node.kind === "project" && node.input.kind !== "values") node = node.input;
  const described = describe(node);
  const indent = " ".repeat(depth === 0 ? 0 : depth * 6 - 4);
  const arrow = top ? "" : "->  ";
  lines.push(`${indent}${arrow}${described.title}${figures(described.figuresOf, options)}`);
  const detailIndent = " ".repeat(depth === 0 ? 2 : depth * 6 + 2);
  for (const detail of described.details) lines.push(`${detailIndent}${detail}`);
  if (options.profile !== undefined && described.removedBy !== undefined) {
    const before = options.profile.get(described.removedBy)?.rows ?? 0;
    const after = options.profile.get(described.figuresOf)?.rows ?? 0;
    lines.push(`${detailIndent}Rows Removed by Filter: ${before - after}`);
  }
  for (const sub of subqueriesOf(node)) {
    lines.push(`${detailIndent}SubPlan ${subplans.next++}`);
    printNode(sub, depth + 1, false, options, lines, subplans);
  }
  for (const child of described.children) {
    printNode(child, depth + 1, false, options, lines, subplans);
  }
}

function figures(node: PlanNode, options: ExplainOptions): string {
  let out = "";
  if (options.costs) out += `  (rows=${options.estimator.rows(node)})`;
  if (options.profile !== undefined) {
    const p = options.profile.get(node);
    if (p === undefined) out += " (never executed)";
    else {
      const loops = Math.max(1, p.loops);
      const rows = Math.round(p.rows / loops);
      out += options.timing
        ? ` (actual time=${(p.firstMs / loops).toFixed(3)}..${
          (p.totalMs / loops).toFixed(3)
        } rows=${rows} loops=${p.loops})`
        : ` (actual rows=${rows} loops=${p.loops})`;
    }
  }
  return out;
}

function names(node: PlanNode): string[] {
  return node.columns.map((c) => c.name);
}

function describe(node: PlanNode): Described {
  const base = { details: [] as string[], children: [] as PlanNode[], figuresOf: node };
  switch (node.kind) {
    case "scan": {
      const table = node.table.def;
      const columns = table.primaryKey.map((i) => table.columns[i]!.name);
      if (node.lookup !== undefined) {
        const cond = node.lookup.map((e, i) => `(${columns[i]} = ${exprText(e, [])})`);
        return {
          ...base,
          title: `Index Scan using ${table.primaryKeyName} on ${table.name}`,
          details: [`Index Cond: ${cond.join(" AND ")}`],
        };
      }
      if (node.lower !== undefined || node.upper !== undefined) {
        const cond: string[] = [];
        if (node.lower) {
          cond.push(
            `(${columns[0]} ${node.lower.inclusive ? ">=" : ">"} ${
              exprText(node.lower.values[0]!, [])
            })`,
          );
        }
        if (node.upper) {
          cond.push(
            `(${columns[0]} ${node.upper.inclusive ? "<=" : "<"} ${
              exprText(node.upper.values[0]!, [])
            })`,
          );
        }
        return {
          ...base,
          title: `Index Scan${
            node.reverse ? " Backward" : ""
          } using ${table.primaryKeyName} on ${table.name}`,
          details: [`Index Cond: ${cond.join(" AND ")}`],
        };
      }
      // The table is clustered by its key: a backward scan is the key index read backward.
      if (node.reverse) {
        return {
          ...base,
          title: `Index Scan Backward using ${table.primaryKeyName} on ${table.name}`,
        };
      }
      return { ...base, title: `Seq Scan on ${table.name}` };
    }
    case "indexScan": {
      const table = node.table.def;
      const index = table.indexes.find((i) => i.name === node.index);
      const cond = node.equal.map((e, i) =>
        `(${table.columns[index?.columns[i]?.column ?? 0]?.name} = ${exprText(e, [])})`
      );
      return {
        ...base,
        title: `Index Scan using ${node.index} on ${table.name}`,
        details: [`Index Cond: ${cond.join(" AND ")}`],
      };
    }
    case "filter": {
      // Shown on the node it filters, with that node's name and this node's figures.
      const inner = describe(node.input);
      const label = node.input.kind === "join" ? "Join Filter" : "Filter";
      return {
        ...inner,
        details: [...inner.details, `${label}: ${exprText(node.predicate, names(node.input))}`],
        figuresOf: node,
        removedBy: inner.figuresOf,
      };
    }
    case "values":
      return { ...base, title: node.rows.length === 1 ? "Result" : 'Values Scan on "*VALUES*"' };
    case "function":
      return { ...base, title: `Function Scan on ${node.name}` };
    case "system":
      return { ...base, title: `Seq Scan on ${node.relation.replace(/^pg_catalog\./, "")}` };
    case "project":
      return {
        ...base,
        title: "Result",
        children: node.input.kind === "values" && node.input.rows.length === 1 ? [] : [node.input],
      };
    case "join": {
      const inputNames = [...names(node.left), ...names(node.right)];
      const kind = node.joinType === "inner" || node.joinType === "cross"
        ? ""
        : ` ${node.joinType[0]!.toUpperCase()}${node.joinType.slice(1)}`;
      if (node.hashKeys !== undefined) {
        const keys = node.hashKeys.left.map((l, i) =>
          `(${exprText(l, names(node.left))} = ${
            exprText(node.hashKeys!.right[i]!, names(node.right))
          })`
        );
        const details = [`Hash Cond: ${keys.join(" AND ")}`];
        if (node.condition !== undefined) {
          details.push(`Join Filter: ${exprText(node.condition, inputNames)}`);
        }
        const hash: PlanNode = {
          kind: "materialize",
          columns: node.right.columns,
          input: node.right,
          id: -1,
        };
        hashNodes.set(hash, node.right);
        return { ...base, title: `Hash${kind} Join`, details, children: [node.left, hash] };
      }
      return {
        ...base,
        title: `Nested Loop${kind}${
          node.joinType === "inner" || node.joinType === "cross" ? "" : " Join"
        }`,
        details: node.condition === undefined
          ? []
          : [`Join Filter: ${exprText(node.condition, inputNames)}`],
        children: [node.left, node.right],
      };
    }
    case "aggregate": {
      const inputNames = names(node.input);
      if (node.groupBy.length === 0) return { ...base, title: "Aggregate", children: [node.input] };
      return {
        ...base,
        title: "HashAggregate",
        details: [`Group Key: ${node.groupBy.map((e) => exprText(e, inputNames)).join(", ")}`],
        children: [node.input],
      };
    }
    case "sort": {
      const inputNames = names(node.input);
      const keys = node.keys.map((k) =>
        `${exprText(k.expr, inputNames)}${k.descending ? " DESC" : ""}${
          k.nullsFirst !== k.descending ? (k.nullsFirst ? " NULLS FIRST" : " NULLS LAST") : ""
        }`
      );
      return {
        ...base,
        title: "Sort",
        details: [`Sort Key: ${keys.join(", ")}`],
        children: [node.input],
      };
    }
    case "limit":
      return { ...base, title: "Limit", children: [node.input] };
    case "distinct":
      return {
        ...base,
        title: "HashAggregate",
        details: ["Group Key: all columns"],
        children: [node.input],
      };
    case "setOp": {
      const title = node.op === "union"
        ? (node.all ? "Append" : "HashAggregate")
        : `HashSetOp ${node.op === "intersect" ? "Intersect" : "Except"}${node.all ? " All" : ""}`;
      return { ...base, title, children: [node.left, node.right] };
    }
    case "materialize": {
      const inner = hashNodes.get(node);
      if (inner !== undefined) {
        return { ...base, title: "Hash", children: [inner], figuresOf: inner };
      }
      return { ...base, title: "Subquery Scan", children: [node.input] };
    }
  }
}

/** Stand-in "Hash" nodes of hash joins and the build input they wrap. */
const hashNodes = new WeakMap<PlanNode, PlanNode>();

/** Plans of subqueries in the expressions a node evaluates (PostgreSQL's SubPlans). */
function subqueriesOf(node: PlanNode): PlanNode[] {
  const exprs: Expr[] = [];
  if (node.kind === "filter") exprs.push(node.predicate);
  if (node.kind === "project") exprs.push(...node.exprs);
  if (node.kind === "join" && node.condition) exprs.push(node.condition);
  const out: PlanNode[] = [];
  const visit = (e: Expr) => {
    if (e.kind === "subquery" || e.kind === "exists") out.push(e.plan);
    if (e.kind === "quantified") {
      visit(e.arg);
      out.push(e.plan);
    }
    for (const value of Object.values(e)) {
      if (Array.isArray(value)) value.forEach((v) => isExpr(v) && visit(v));
      else if (isExpr(value)) visit(value);
    }
  };
  exprs.forEach(visit);
  return out;
}

function isExpr(value: unknown): value is Expr {
  return typeof value === "object" && value !== null && "kind" in value && "type" in value &&
    !("columns" in value);
}

const operatorNames = /^[^a-z_]/i;
/** Operators bound under a function name, printed as PostgreSQL prints them. */
const operatorSpelling: Record<string, string> = {
  like: "~~",
  "not like": "!~~",
  ilike: "~~*",
  "not ilike": "!~~*",
};

/** PostgreSQL-style text of a bound expression over input columns named `columns`. */
export function exprText(expr: Expr, columns: string[]): string {
  switch (expr.kind) {
    case "const": {
      if (expr.value === null) return "NULL";
      const text = formatValue(expr.value, storable(expr.type)) ?? "NULL";
      if (typeof expr.value === "number" || typeof expr.value === "bigint") return text;
      return `'${text.replaceAll("'", "''")}'::${typeName(expr.type)}`;
    }
    case "column":
      return columns[expr.index] ?? `$${expr.index}`;
    case "outer":
      return `(outer ${expr.depth}).#${expr.index + 1}`;
    case "param":
      return `$${expr.index + 1}`;
    case "call": {
      const args = expr.args.map((a) => exprText(a, columns));
      if (expr.name === "cast") return `(${args[0]})::${typeName(expr.type)}`;
      const operator = operatorSpelling[expr.name] ?? expr.name;
      if (operatorNames.test(operator)) {
        return args.length === 2
          ? `(${args[0]} ${expr.name} ${args[1]})`
          : `(${expr.name} ${args[0]})`;
      }
      return `${expr.name}(${args.join(", ")})`;
    }
    case "and":
    case "or":
      return `(${expr.args.map((a) => exprText(a, columns)).join(` ${expr.kind.toUpperCase()} `)})`;
    case "not":
      return `(NOT ${exprText(expr.arg, columns)})`;
    case "isNull":
      return `(${exprText(expr.arg, columns)} IS ${expr.negated ? "NOT " : ""}NULL)`;
    case "distinct":
      return `(${exprText(expr.left, columns)} IS ${expr.negated ? "NOT " : ""}DISTINCT FROM ${
        exprText(expr.right, columns)
      })`;
    case "isBool":
      return `(${exprText(expr.arg, columns)} IS ${
        expr.negated ? "NOT " : ""
      }${expr.test.toUpperCase()})`;
    case "coalesce":
      return `COALESCE(${expr.args.map((a) => exprText(a, columns)).join(", ")})`;
    case "inList":
      return `(${exprText(expr.arg, columns)} ${expr.negated ? "<> ALL" : "= ANY"} (ARRAY[${
        expr.list.map((e) => exprText(e, columns)).join(", ")
      }]))`;
    case "case":
      return `CASE ${
        expr.whens.map((w) => `WHEN ${exprText(w.when, columns)} THEN ${exprText(w.then, columns)}`)
          .join(" ")
      }${expr.otherwise ? ` ELSE ${exprText(expr.otherwise, columns)}` : ""} END`;
    case "array":
      return `ARRAY[${expr.elements.map((e) => exprText(e, columns)).join(", ")}]`;
    case "subquery":
    case "arraySubquery":
      return "(SubPlan)";
    case "exists":
      return `${expr.negated ? "(NOT " : ""}(SubPlan)${expr.negated ? ")" : ""}`;
    case "quantified":
      return `(${exprText(expr.arg, columns)} ${expr.all ? "ALL" : "ANY"} (SubPlan))`;
  }
}
