/**
 * Walks over bound expressions: which input columns an expression reads, and the same
 * expression over a narrower row (columns shifted), for moving predicates below joins.
 */
import type { Expr } from "./plan.ts";

/**
 * The input columns `expr` reads, or undefined when it holds a subquery (whose references to
 * this row cannot be moved with it).
 */
export function columnsOf(expr: Expr): Set<number> | undefined {
  const out = new Set<number>();
  const visit = (e: Expr): boolean => {
    switch (e.kind) {
      case "column":
        out.add(e.index);
        return true;
      case "const":
      case "param":
      case "outer":
        return true;
      case "subquery":
      case "arraySubquery":
      case "exists":
      case "quantified":
        return false;
      default:
        return children(e).every(visit);
    }
  };
  return visit(expr) ? out : undefined;
}

/** `expr` with every input column index moved by `delta` (no subqueries inside). */
export function shiftColumns(expr: Expr, delta: number): Expr {
  switch (expr.kind) {
    case "column":
      return { ...expr, index: expr.index + delta };
    case "const":
    case "param":
    case "outer":
      return expr;
    case "call":
      return { ...expr, args: expr.args.map((a) => shiftColumns(a, delta)) };
    case "and":
    case "or":
    case "coalesce":
      return { ...expr, args: expr.args.map((a) => shiftColumns(a, delta)) };
    case "not":
    case "isNull":
    case "isBool":
      return { ...expr, arg: shiftColumns(expr.arg, delta) };
    case "distinct":
      return {
        ...expr,
        left: shiftColumns(expr.left, delta),
        right: shiftColumns(expr.right, delta),
      };
    case "case":
      return {
        ...expr,
        whens: expr.whens.map((w) => ({
          when: shiftColumns(w.when, delta),
          then: shiftColumns(w.then, delta),
        })),
        otherwise: expr.otherwise && shiftColumns(expr.otherwise, delta),
      };
    case "inList":
      return {
        ...expr,
        arg: shiftColumns(expr.arg, delta),
        list: expr.list.map((e) => shiftColumns(e, delta)),
      };
    case "array":
      return { ...expr, elements: expr.elements.map((e) => shiftColumns(e, delta)) };
    case "subquery":
    case "arraySubquery":
    case "exists":
    case "quantified":
      throw new Error("shiftColumns: subqueries cannot move");
  }
}

/** The direct sub-expressions of `expr` (subquery plans excluded). */
export function children(expr: Expr): Expr[] {
  switch (expr.kind) {
    case "call":
    case "and":
    case "or":
    case "coalesce":
      return expr.args;
    case "not":
    case "isNull":
    case "isBool":
      return [expr.arg];
    case "distinct":
      return [expr.left, expr.right];
    case "case":
      return [
        ...expr.whens.flatMap((w) => [w.when, w.then]),
        ...(expr.otherwise ? [expr.otherwise] : []),
      ];
    case "inList":
      return [expr.arg, ...expr.list];
    case "array":
      return expr.elements;
    default:
      return [];
  }
}

/**
 * `expr` as seen from a plan nested one level inside the row it reads: its input columns become
 * enclosing-row references (depth 1) and enclosing references go one level further out.
 */
export function asOuter(expr: Expr): Expr | undefined {
  if (columnsOf(expr) === undefined) return undefined;
  const rewrite = (e: Expr): Expr => {
    switch (e.kind) {
      case "column":
        return { kind: "outer", type: e.type, depth: 1, index: e.index };
      case "outer":
        return { ...e, depth: e.depth + 1 };
      default:
        return mapChildren(e, rewrite);
    }
  };
  return rewrite(expr);
}

/** `expr` with `f` applied to each direct sub-expression (no subqueries inside). */
function mapChildren(expr: Expr, f: (e: Expr) => Expr): Expr {
  switch (expr.kind) {
    case "call":
    case "and":
    case "or":
    case "coalesce":
      return { ...expr, args: expr.args.map(f) };
    case "not":
    case "isNull":
    case "isBool":
      return { ...expr, arg: f(expr.arg) };
    case "distinct":
      return { ...expr, left: f(expr.left), right: f(expr.right) };
    case "case":
      return {
        ...expr,
        whens: expr.whens.map((w) => ({ when: f(w.when), then: f(w.then) })),
        otherwise: expr.otherwise && f(expr.otherwise),
      };
    case "inList":
      return { ...expr, arg: f(expr.arg), list: expr.list.map(f) };
    case "array":
      return { ...expr, elements: expr.elements.map(f) };
    default:
      return expr;
  }
}

/** Functions whose result may differ between calls in one statement. */
const volatileFunctions: ReadonlySet<string> = new Set([
  "random",
  "nextval",
  "setval",
  "clock_timestamp",
  "timeofday",
  "gen_random_uuid",
]);

/** Whether `expr` calls a volatile function (so it cannot be evaluated once for many rows). */
export function isVolatile(expr: Expr): boolean {
  if (expr.kind === "call" && volatileFunctions.has(expr.name)) return true;
  return children(expr).some(isVolatile);
}
