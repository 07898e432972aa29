/**
 * Expressions evaluated without awaiting: a tree with no subquery in it (almost every one a
 * statement carries: `abalance + $1`, `aid = $2`, a CHECK) needs nothing asynchronous, so it
 * runs as plain calls instead of one promise and one async frame per node (executor.ts's
 * `evaluate` keeps the awaiting path for trees that hold a subquery, and sends plain subtrees
 * here). Same semantics as that path, node for node: strict calls stop at the first NULL,
 * AND/OR/CASE/COALESCE evaluate lazily, left to right.
 *
 * Invariant: {@link evaluateNow} is called only on trees {@link isPlainExpr} accepts; the
 * answer is cached per node (plans are immutable once bound).
 */
import { assert } from "../lib/assert.ts";
import type { SqlValue } from "../dbengine/types.ts";
import type { Expr } from "./plan.ts";
import type { ExecContext, Row } from "./executor.ts";
import { children } from "./expr_walk.ts";

const plainCache = new WeakMap<Expr, boolean>();
/** The kinds that run a plan: evaluating them awaits. */
const subqueryKinds = new Set<Expr["kind"]>(["subquery", "arraySubquery", "exists", "quantified"]);

/** True when `expr` holds no subquery anywhere, so {@link evaluateNow} may run it. */
export function isPlainExpr(expr: Expr): boolean {
  let plain = plainCache.get(expr);
  if (plain === undefined) {
    plain = !subqueryKinds.has(expr.kind) && children(expr).every(isPlainExpr);
    plainCache.set(expr, plain);
  }
  return plain;
}

function truth(value: SqlValue): boolean | null {
  return value === null ? null : value === true;
}

/** Evaluates a plain expression (see the invariant) on `row`. */
export function evaluateNow(expr: Expr, row: Row, ctx: ExecContext): SqlValue {
  switch (expr.kind) {
    case "const":
      return expr.value;
    case "column":
      return row[expr.index] ?? null;
    case "outer":
      return ctx.outer[ctx.outer.length - expr.depth]?.[expr.index] ?? null;
    case "param":
      return ctx.params[expr.index] ?? null;
    case "call": {
      const args: SqlValue[] = [];
      for (const arg of expr.args) {
        const value = evaluateNow(arg, row, ctx);
        if (value === null && expr.strict) return null;
        args.push(value);
      }
      return expr.fn(args, ctx.call);
    }
    case "and":
    case "or": {
      const stop = expr.kind === "or"; // the value that decides at once
      let sawNull = false;
      for (const arg of expr.args) {
        const value = truth(evaluateNow(arg, row, ctx));
        if (value === stop) return stop;
        if (value === null) sawNull = true;
      }
      return sawNull ? null : !stop;
    }
    case "not": {
      const value = truth(evaluateNow(expr.arg, row, ctx));
      return value === null ? null : !value;
    }
    case "isNull":
      return (evaluateNow(expr.arg, row, ctx) === null) !== expr.negated;
    case "isBool": {
      const value = truth(evaluateNow(expr.arg, row, ctx));
      const matches = expr.test === "unknown" ? value === null : value === (expr.test === "true");
      return matches !== expr.negated;
    }
    case "distinct": {
      const a = evaluateNow(expr.left, row, ctx);
      const b = evaluateNow(expr.right, row, ctx);
      const same = a === null || b === null ? a === b : expr.equal(a, b);
      return same === expr.negated;
    }
    case "case": {
      for (const { when, then } of expr.whens) {
        if (truth(evaluateNow(when, row, ctx)) === true) return evaluateNow(then, row, ctx);
      }
      return expr.otherwise === undefined ? null : evaluateNow(expr.otherwise, row, ctx);
    }
    case "coalesce": {
      for (const arg of expr.args) {
        const value = evaluateNow(arg, row, ctx);
        if (value !== null) return value;
      }
      return null;
    }
    case "inList": {
      const value = evaluateNow(expr.arg, row, ctx);
      if (value === null) return null;
      let sawNull = false;
      for (const item of expr.list) {
        const candidate = evaluateNow(item, row, ctx);
        if (candidate === null) sawNull = true;
        else if (expr.equal(value, candidate)) return !expr.negated;
      }
      return sawNull ? null : expr.negated;
    }
    case "array":
      return expr.elements.map((element) => evaluateNow(element, row, ctx)) as unknown as SqlValue;
    default:
      assert(false, `evaluateNow on a ${expr.kind} expression (not plain)`);
  }
}

/** Whether `expr` holds on `row` (true; NULL and false do not), or undefined when not plain. */
export function passesNow(expr: Expr, row: Row, ctx: ExecContext): boolean | undefined {
  return isPlainExpr(expr) ? evaluateNow(expr, row, ctx) === true : undefined;
}

/** The values of `exprs` on `row`, or undefined when one of them is not plain. */
export function valuesNow(
  exprs: readonly Expr[],
  row: Row,
  ctx: ExecContext,
): SqlValue[] | undefined {
  if (!exprs.every(isPlainExpr)) return undefined;
  return exprs.map((expr) => evaluateNow(expr, row, ctx));
}
