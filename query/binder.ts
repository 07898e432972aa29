/**
 * The binder: resolves names against the catalog, types every expression with PostgreSQL's
 * rules, and turns parsed queries into plans (plan.ts). Access paths: a WHERE that fixes every
 * primary-key column becomes a point lookup; other predicates filter a scan.
 */
import { type SqlValue, TypeId } from "../dbengine/types.ts";
import type { Table } from "../dbengine/table.ts";
import type { Catalog } from "../dbengine/catalog.ts";
import type { Transaction } from "../dbengine/txn.ts";
import { aggregateNames, resolveAggregate } from "./aggregates.ts";
import { castValue } from "./casts.ts";
import { resolveFunction } from "./functions.ts";
import { comparator, comparisonType, negate, resolveBinary } from "./operators.ts";
import { DataError, parseValue, type TextSettings } from "./pg_text.ts";
import { asOuter, columnsOf, isVolatile, shiftColumns } from "./expr_walk.ts";
import { RowEstimator } from "./estimate.ts";
import type { AggregateCall, Expr, KeyBound, OutputColumn, PlanNode, SortKey } from "./plan.ts";
import type { AstExpr, FromItem, SelectCore, SelectStatement, TypeName } from "./sql_ast.ts";
import { SqlSyntaxError } from "./sql_lexer.ts";
import { commonType } from "./type_resolution.ts";
import {
  arrayOf,
  internalTypeName,
  isOidFamily,
  isText,
  isUnknown,
  type SqlType,
  storable,
  t,
  typeName,
} from "./sql_types.ts";
import { oidCoercion } from "./reg_types.ts";
import { regexMatches } from "./regex.ts";
import { findSystemRelation, systemScan } from "./system_catalog.ts";
import "./pg_catalog_relations.ts";
import "./kv_relation.ts";
import { numericTypmod } from "./pg_text.ts";

/** What binding needs: the catalog as the statement sees it, and parameter types. */
export interface BindContext {
  catalog: Catalog;
  txn: Transaction | undefined;
  snapshot: number;
  /** Types of $1…$n; unknown entries are inferred from use and filled in. */
  paramTypes: SqlType[];
  settings: TextSettings;
}

/** A column visible in a scope. */
export interface ScopeColumn {
  table: string | undefined;
  /** The other side's copy of a JOIN … USING column: reachable only qualified, not in `*`. */
  merged?: boolean;
  name: string;
  type: SqlType;
  index: number;
  tableOid: number;
  columnNumber: number;
}

export interface Scope {
  columns: ScopeColumn[];
  /** The enclosing query's scope (for correlated subqueries): one level out per link. */
  parent?: Scope | undefined;
  /** Aggregate calls collected while binding a grouped query's targets. */
  aggregates?: AggregateCall[];
  /** The scope aggregate arguments are bound in (the rows before grouping). */
  aggregatesInputScope?: Scope;
  /** How many group keys precede the aggregates in the grouped row. */
  groupCount?: number;
}

/** SQLSTATE 42703 / 42P01 / 42804 … errors raised while binding, with a position. */
export class BindError extends DataError {
  override name = "BindError";
  readonly position: number | undefined;
  constructor(code: string, message: string, offset?: number) {
    super(code, message);
    this.position = offset === undefined ? undefined : offset + 1;
  }
}

/** Maps a parsed type name to a SQL type. */
export function resolveTypeName(type: TypeName): SqlType {
  const n = type.name;
  const mod = (base: SqlType, typmod: number): SqlType => ({ id: base.id, typmod });
  let result: SqlType;
  switch (n) {
    case "smallint":
    case "int2":
    case "smallserial":
      result = t.int2;
      break;
    case "integer":
    case "int":
    case "int4":
    case "serial":
      result = t.int4;
      break;
    case "bigint":
    case "int8":
    case "bigserial":
      result = t.int8;
      break;
    case "real":
    case "float4":
      result = t.float4;
      break;
    case "double precision":
    case "float8":
    case "float":
      result = t.float8;
      break;
    case "numeric":
    case "decimal":
      result = type.args.length > 0
        ? mod(t.numeric, numericTypmod(type.args[0]!, type.args[1] ?? 0))
        : t.numeric;
      break;
    case "text":
      result = t.text;
      break;
    case "varchar":
      result = type.args.length > 0 ? mod(t.varchar, type.args[0]! + 4) : t.varchar;
      break;
    case "char":
    case "character":
      result = mod(t.bpchar, (type.args[0] ?? 1) + 4);
      break;
    case "bpchar":
      result = type.args.length > 0 ? mod(t.bpchar, type.args[0]! + 4) : t.bpchar;
      break;
    case "boolean":
    case "bool":
      result = t.bool;
      break;
    case "date":
      result = t.date;
      break;
    case "timestamp":
      result = t.timestamp;
      break;
    case "timestamptz":
      result = t.timestamptz;
      break;
    case "interval":
      result = t.interval;
      break;
    case "bytea":
      result = t.bytea;
      break;
    case "name":
      result = t.name;
      break;
    case "oid":
      result = t.oid;
      break;
    case "regclass":
      result = t.regclass;
      break;
    case "regtype":
      result = t.regtype;
      break;
    case "regnamespace":
      result = t.regnamespace;
      break;
    case "regproc":
      result = t.regproc;
      break;
    case '"char"':
      result = t.charByte;
      break;
    default:
      throw new BindError("42704", `type "${n}" does not exist`);
  }
  return type.array ? arrayOf(result) : result;
}

/** The SQL type of a stored column. */
function columnType(table: Table, index: number): SqlType {
  const type = table.def.columns[index]!.type;
  return { id: type.id, typmod: type.typmod };
}

export class Binder {
  readonly ctx: BindContext;
  #nextMaterialize = 1;
  /**
   * One entry per subquery expression being bound, innermost last: set when the subquery
   * refers to a row of a query outside it (it is then correlated and cannot be cached).
   */
  readonly #correlated: boolean[] = [];
  /** Common table expressions in scope, innermost WITH last; each is materialized once. */
  readonly #ctes: Map<string, { plan: PlanNode; names: string[] }>[] = [];

  constructor(ctx: BindContext) {
    this.ctx = ctx;
  }

  /** Looks up a table; 42P01 when it does not exist. */
  table(name: string, offset?: number): Table {
    const table = this.ctx.catalog.table(name, this.ctx.txn, this.ctx.snapshot);
    if (table === null) {
      if (findSystemRelation(undefined, name) !== undefined) {
        // System relations are computed from the catalog: read-only.
        throw new BindError("42501", `permission denied: "${name}" is a system catalog`, offset);
      }
      throw new BindError("42P01", `relation "${name}" does not exist`, offset);
    }
    return table;
  }

  // -------------------------------------------------------------- expressions

  /** Binds `ast` in `scope`; `expected` types unknown literals and parameters. */
  expr(ast: AstExpr, scope: Scope, expected?: SqlType): Expr {
    switch (ast.kind) {
      case "number":
        return this.#number(ast.text);
      case "string":
        if (expected && isOidFamily(expected)) {
          return this.#coerce({ kind: "const", type: t.unknown, value: ast.value }, expected);
        }
        return {
          kind: "const",
          type: expected && !isUnknown(expected) ? expected : t.unknown,
          value: expected && !isUnknown(expected)
            ? parseValue(ast.value, storable(expected), this.ctx.settings)
            : ast.value,
        };
      case "bool":
        return { kind: "const", type: t.bool, value: ast.value };
      case "null":
        return { kind: "const", type: expected ?? t.unknown, value: null };
      case "param": {
        const index = ast.index - 1;
        if (index < 0 || index >= 65535) {
          throw new BindError("42P02", `there is no parameter $${ast.index}`, ast.offset);
        }
        while (this.ctx.paramTypes.length <= index) this.ctx.paramTypes.push(t.unknown);
        if (isUnknown(this.ctx.paramTypes[index]!) && expected && !isUnknown(expected)) {
          this.ctx.paramTypes[index] = expected;
        }
        return { kind: "param", type: this.ctx.paramTypes[index]!, index };
      }
      case "typed": {
        const type = resolveTypeName(ast.type);
        return {
          kind: "const",
          type,
          value: parseValue(ast.value, storable(type), this.ctx.settings),
        };
      }
      case "column":
        return this.#column(ast.parts, ast.offset, scope);
      case "star":
        throw new BindError("42601", "a * is only allowed in a select list", ast.offset);
      case "and":
      case "or":
        return { kind: ast.kind, type: t.bool, args: ast.args.map((a) => this.#boolean(a, scope)) };
      case "not":
        return { kind: "not", type: t.bool, arg: this.#boolean(ast.arg, scope) };
      case "isNull":
        return {
          kind: "isNull",
          type: t.bool,
          arg: this.expr(ast.arg, scope),
          negated: ast.negated,
        };
      case "isBool":
        return {
          kind: "isBool",
          type: t.bool,
          arg: this.#boolean(ast.arg, scope),
          test: ast.test,
          negated: ast.negated,
        };
      case "isDistinct": {
        const [left, right, type] = this.#comparable(ast.left, ast.right, scope);
        const order = comparator(type);
        return {
          kind: "distinct",
          type: t.bool,
          left,
          right,
          negated: ast.negated,
          equal: (a, b) => order(a, b) === 0,
        };
      }
      case "binary":
        return this.#binary(ast.op, ast.left, ast.right, scope, ast.offset);
      case "unary": {
        const arg = this.expr(ast.arg, scope);
        if (ast.op !== "-") return this.#prefixOperator(ast.op, arg, ast.offset);
        if (isUnknown(arg.type) && arg.kind === "const") {
          throw new BindError("42725", "operator is not unique: - unknown", ast.offset);
        }
        const type = isUnknown(arg.type) ? t.numeric : arg.type;
        const fn = negate(type);
        return {
          kind: "call",
          type,
          name: "-",
          strict: true,
          args: [this.#coerce(arg, type)],
          fn: ([v]) => fn(v!),
        };
      }
      case "between": {
        const range = (low: AstExpr, high: AstExpr): Expr => ({
          kind: "and",
          type: t.bool,
          args: [
            this.#binary(">=", ast.arg, low, scope, ast.offset),
            this.#binary("<=", ast.arg, high, scope, ast.offset),
          ],
        });
        // SYMMETRIC: either order of the bounds.
        const both: Expr = ast.symmetric
          ? { kind: "or", type: t.bool, args: [range(ast.low, ast.high), range(ast.high, ast.low)] }
          : range(ast.low, ast.high);
        return ast.negated ? { kind: "not", type: t.bool, arg: both } : both;
      }
      case "inList": {
        const arg = this.expr(ast.arg, scope);
        const items = ast.list.map((item) => this.expr(item, scope, arg.type));
        const type = items.reduce((acc, item) => comparisonType(acc, item.type) ?? acc, arg.type);
        const order = comparator(isUnknown(type) ? t.text : type);
        return {
          kind: "inList",
          type: t.bool,
          arg: this.#coerce(arg, type),
          list: items.map((item) => this.#coerce(item, type)),
          negated: ast.negated,
          equal: (a, b) => order(a, b) === 0,
        };
      }
      case "like":
        return this.#like(ast, scope);
      case "cast": {
        const target = resolveTypeName(ast.type);
        const truncating = (target.id === TypeId.varchar || target.id === TypeId.char) &&
          target.typmod >= 4;
        const arg = this.expr(ast.arg, scope, truncating ? undefined : target);
        return this.#coerce(arg, target, true);
      }
      case "case":
        return this.#case(ast, scope);
      case "call":
        return this.#call(ast, scope);
      case "subquery": {
        const { plan, cacheId } = this.#subquery(ast.query, scope);
        if (plan.columns.length !== 1) {
          throw new BindError("42601", "subquery must return only one column", ast.offset);
        }
        return { kind: "subquery", type: plan.columns[0]!.type, plan, cacheId };
      }
      case "exists": {
        const { plan, cacheId } = this.#subquery(ast.query, scope);
        return { kind: "exists", type: t.bool, plan, negated: false, cacheId };
      }
      case "inSelect":
      case "quantified": {
        const arg = this.expr(ast.arg, scope);
        const { plan, cacheId } = this.#subquery(ast.query, scope);
        if (plan.columns.length !== 1) {
          throw new BindError(
            "42601",
            `subquery has too ${plan.columns.length > 1 ? "many" : "few"} columns`,
            ast.offset,
          );
        }
        const type = comparisonType(arg.type, plan.columns[0]!.type) ?? arg.type;
        const op = ast.kind === "inSelect" ? "=" : ast.op;
        const test = resolveBinary(op, type, type).fn;
        return {
          kind: "quantified",
          type: t.bool,
          arg: this.#coerce(arg, type),
          plan,
          cacheId,
          all: ast.kind === "quantified" ? ast.all : false,
          negated: ast.kind === "inSelect" ? ast.negated : false,
          compare: (a, b) => test(a, b) === true,
        };
      }
      case "array": {
        const elements = ast.elements.map((e) => this.expr(e, scope));
        const element = elements.find((e) => !isUnknown(e.type))?.type ?? t.text;
        return {
          kind: "array",
          type: { id: 100, typmod: -1, element },
          elements: elements.map((e) => this.#coerce(e, element)),
        };
      }
    }
  }

  #number(text: string): Expr {
    if (/^-?\d+$/.test(text)) {
      const n = Number(text);
      if (n >= -2147483648 && n <= 2147483647) return { kind: "const", type: t.int4, value: n };
      const big = BigInt(text);
      if (big >= -(2n ** 63n) && big < 2n ** 63n) {
        return { kind: "const", type: t.int8, value: big };
      }
    }
    return { kind: "const", type: t.numeric, value: parseValue(text, storable(t.numeric)) };
  }

  #boolean(ast: AstExpr, scope: Scope): Expr {
    const expr = this.expr(ast, scope, t.bool);
    if (isUnknown(expr.type)) return this.#coerce(expr, t.bool);
    if (expr.type.id !== TypeId.boolean) {
      throw new BindError(
        "42804",
        `argument of WHERE must be type boolean, not type ${typeName(expr.type)}`,
        ast.offset,
      );
    }
    return expr;
  }

  /** Binds a subquery expression's query, noting whether it refers to enclosing rows. */
  #subquery(query: SelectStatement, scope: Scope): { plan: PlanNode; cacheId: number | undefined } {
    this.#correlated.push(false);
    let correlated: boolean;
    let plan: PlanNode;
    try {
      plan = this.select(query, scope).plan;
    } finally {
      correlated = this.#correlated.pop()!;
    }
    return { plan, cacheId: correlated ? undefined : this.#nextMaterialize++ };
  }

  /** A column of `scope`, or of an enclosing query's scope (an outer reference). */
  #column(parts: string[], offset: number, scope: Scope): Expr {
    const name = parts[parts.length - 1]!;
    const table = parts.length > 1 ? parts[parts.length - 2] : undefined;
    let level: Scope | undefined = scope;
    for (let depth = 0; level !== undefined; depth++, level = level.parent) {
      const matches = level.columns.filter((c) =>
        c.name === name && (table === undefined ? !c.merged : c.table === table)
      );
      if (matches.length > 1) {
        throw new BindError("42702", `column reference "${name}" is ambiguous`, offset);
      }
      if (matches.length === 0) continue;
      const { type, index } = matches[0]!;
      if (depth === 0) return { kind: "column", type, index };
      // The `depth` innermost subqueries being bound now reach outside themselves.
      for (let i = 1; i <= depth; i++) {
        const at = this.#correlated.length - i;
        if (at >= 0) this.#correlated[at] = true;
      }
      return { kind: "outer", type, depth, index };
    }
    if (name === "DEFAULT") {
      throw new BindError("42601", "DEFAULT is not allowed in this context", offset);
    }
    if (table !== undefined) {
      let known = false;
      for (let s: Scope | undefined = scope; s !== undefined && !known; s = s.parent) {
        known = s.columns.some((c) => c.table === table);
      }
      if (!known) {
        throw new BindError("42P01", `missing FROM-clause entry for table "${table}"`, offset);
      }
    }
    throw new BindError("42703", `column "${parts.join(".")}" does not exist`, offset);
  }

  /** Coerces `expr` to `target`: unknown literals are parsed, other types cast. */
  #coerce(expr: Expr, target: SqlType, explicit = false): Expr {
    if (isUnknown(target)) return expr;
    if (expr.type.id === target.id && (target.typmod < 0 || expr.type.typmod === target.typmod)) {
      return expr.kind === "param" || expr.kind === "const" ? { ...expr, type: target } : expr;
    }
    if (isOidFamily(target) || isOidFamily(expr.type)) {
      const param = expr.kind === "param" && isUnknown(expr.type);
      if (param) this.ctx.paramTypes[expr.index] = target;
      // A parameter arrives as text; it is read like a literal at run time.
      const source: Expr = param ? { ...expr, type: t.text } : expr;
      let oid;
      try {
        oid = oidCoercion(source, target, this.ctx);
      } catch (error) {
        if (error instanceof DataError) throw new BindError(error.sqlState, error.message);
        throw error;
      }
      if (oid !== undefined) return oid;
    }
    const truncates = explicit && (target.id === TypeId.varchar || target.id === TypeId.char) &&
      target.typmod >= 4;
    if (expr.kind === "const" && !truncates) {
      const value = isUnknown(expr.type) && expr.value !== null
        ? parseValue(String(expr.value), storable(target), this.ctx.settings)
        : castValue(expr.value, storable(expr.type), storable(target), this.ctx.settings);
      return { kind: "const", type: target, value };
    }
    if (expr.kind === "param" && isUnknown(expr.type)) {
      this.ctx.paramTypes[expr.index] = target;
      return { ...expr, type: target };
    }
    const from = storable(expr.type);
    const to = storable(target);
    const settings = this.ctx.settings;
    if (truncates) {
      // An explicit cast to varchar(n)/char(n) truncates instead of failing (PostgreSQL).
      const length = target.typmod - 4;
      return {
        kind: "call",
        type: target,
        name: "cast",
        strict: true,
        args: [expr],
        fn: ([v]) => {
          const text = castValue(v!, from, storable(t.text), settings) as string;
          const chars = [...text].slice(0, length).join("");
          return target.id === TypeId.char ? chars.padEnd(length, " ") : chars;
        },
      };
    }
    return {
      kind: "call",
      type: target,
      name: "cast",
      strict: true,
      args: [expr],
      fn: ([v]) =>
        isUnknown(expr.type)
          ? parseValue(String(v), to, settings)
          : castValue(v!, from, to, settings),
    };
  }

  #comparable(leftAst: AstExpr, rightAst: AstExpr, scope: Scope): [Expr, Expr, SqlType] {
    let left = this.expr(leftAst, scope);
    const right = this.expr(rightAst, scope, left.type);
    if (isUnknown(left.type) && !isUnknown(right.type)) {
      left = this.expr(leftAst, scope, right.type);
    }
    const type = comparisonType(left.type, right.type);
    if (type === undefined) {
      throw new BindError(
        "42883",
        `operator does not exist: ${typeName(left.type)} = ${typeName(right.type)}`,
        leftAst.offset,
      );
    }
    return [this.#coerce(left, type), this.#coerce(right, type), type];
  }

  #binary(op: string, leftAst: AstExpr, rightAst: AstExpr, scope: Scope, offset: number): Expr {
    // An unknown literal takes the other operand's type, except beside || where it is text
    // (text || anynonarray), unless the other operand is an array.
    const adopt = (other: SqlType) => op === "||" && other.id !== 100 ? t.text : other;
    let left = this.expr(leftAst, scope);
    let right = this.expr(rightAst, scope, isUnknown(left.type) ? undefined : adopt(left.type));
    if (isUnknown(left.type) && !isUnknown(right.type)) {
      left = this.expr(leftAst, scope, adopt(right.type));
    }
    if (op === "^") {
      const fn = resolveFunction("power", [left.type, right.type]);
      return this.#callExpr("power", fn, [left, right]);
    }
    if (op === "~" || op === "!~" || op === "~*" || op === "!~*") {
      const caseInsensitive = op.includes("*");
      const negated = op.startsWith("!");
      return {
        kind: "call",
        type: t.bool,
        name: op,
        strict: true,
        args: [this.#coerce(left, t.text), this.#coerce(right, t.text)],
        fn: ([s, p]) => regexMatches(s as string, p as string, caseInsensitive) !== negated,
      };
    }
    let resolved;
    try {
      resolved = resolveBinary(op, left.type, right.type);
    } catch (error) {
      if (error instanceof DataError) throw new BindError(error.sqlState, error.message, offset);
      throw error;
    }
    left = this.#coerce(left, resolved.left);
    right = this.#coerce(right, resolved.right);
    return {
      kind: "call",
      type: resolved.result,
      name: op,
      strict: true,
      args: [left, right],
      fn: ([a, b]) => resolved.fn(a!, b!),
    };
  }

  /** `left op right` over already bound operands of the operator's own types. */
  #binaryExpr(op: string, left: Expr, right: Expr): Expr {
    const resolved = resolveBinary(op, left.type, right.type);
    return {
      kind: "call",
      type: resolved.result,
      name: op,
      strict: true,
      args: [this.#coerce(left, resolved.left), this.#coerce(right, resolved.right)],
      fn: ([a, b]) => resolved.fn(a!, b!),
    };
  }

  #like(ast: Extract<AstExpr, { kind: "like" }>, scope: Scope): Expr {
    const arg = this.#coerce(this.expr(ast.arg, scope), t.text);
    const pattern = this.#coerce(this.expr(ast.pattern, scope, t.text), t.text);
    const flags = ast.caseInsensitive ? "is" : "s";
    const cache = new Map<string, RegExp>();
    const toRegex = (p: string, escape: string) => {
      let re = "^";
      for (let i = 0; i < p.length; i++) {
        const c = p[i]!;
        if (c === escape && i + 1 < p.length) {
          re += p[++i]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        } else if (c === "%") re += ".*";
        else if (c === "_") re += ".";
        else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      }
      return new RegExp(re + "$", flags);
    };
    const args = [arg, pattern];
    if (ast.escape) args.push(this.#coerce(this.expr(ast.escape, scope, t.text), t.text));
    return {
      kind: "call",
      type: t.bool,
      name: "like",
      strict: true,
      args,
      fn: ([s, p, e]) => {
        const key = `${e ?? "\\"}\u0000${p}`;
        let re = cache.get(key);
        if (re === undefined) {
          re = toRegex(p as string, (e as string | undefined) ?? "\\");
          if (cache.size < 64) cache.set(key, re);
        }
        return re.test(s as string) !== ast.negated;
      },
    };
  }

  #case(ast: Extract<AstExpr, { kind: "case" }>, scope: Scope): Expr {
    const operand = ast.operand ? this.expr(ast.operand, scope) : undefined;
    const whens = ast.whens.map(({ when, then }) => ({
      when: operand && ast.operand
        ? this.#binary("=", ast.operand, when, scope, when.offset)
        : this.#boolean(when, scope),
      then: this.expr(then, scope),
    }));
    const otherwise = ast.otherwise ? this.expr(ast.otherwise, scope) : undefined;
    const results = [...whens.map((w) => w.then), ...(otherwise ? [otherwise] : [])];
    const type = this.#commonType(results, "CASE", ast.offset);
    return {
      kind: "case",
      type,
      whens: whens.map((w) => ({ when: w.when, then: this.#coerce(w.then, type) })),
      otherwise: otherwise ? this.#coerce(otherwise, type) : undefined,
    };
  }

  /** ~, |/, ||/ and @: bitwise not and the sqrt/cbrt/abs functions in operator form. */
  #prefixOperator(op: string, arg: Expr, offset: number): Expr {
    const type = isUnknown(arg.type) ? (op === "~" ? t.int4 : t.float8) : arg.type;
    if (op === "~") {
      if (type.id !== TypeId.smallint && type.id !== TypeId.integer && type.id !== TypeId.bigint) {
        throw new BindError("42883", `operator does not exist: ~ ${typeName(type)}`, offset);
      }
      return {
        kind: "call",
        type,
        name: "~",
        strict: true,
        args: [this.#coerce(arg, type)],
        fn: ([v]) => (typeof v === "bigint" ? ~v : ~(v as number)),
      };
    }
    const name = op === "|/" ? "sqrt" : op === "||/" ? "cbrt" : "abs";
    const fn = resolveFunction(name, [op === "@" ? type : t.float8]);
    return this.#callExpr(name, fn, [arg]);
  }

  /** Column `i` of a set operation: a select-list literal ('a', NULL) counts as unknown. */
  #setOpType(left: PlanNode, right: PlanNode, i: number, context: string, offset: number): SqlType {
    const typeOf = (side: PlanNode): SqlType => {
      const expr = side.kind === "project" ? side.exprs[i] : undefined;
      const literal = expr?.kind === "const" && (expr.value === null || isText(expr.type));
      return literal ? t.unknown : side.columns[i]!.type;
    };
    const known = [typeOf(left), typeOf(right)];
    if (known.every(isUnknown)) return left.columns[i]!.type;
    try {
      return commonType(known, context);
    } catch (error) {
      if (error instanceof DataError) throw new BindError(error.sqlState, error.message, offset);
      throw error;
    }
  }

  #commonType(exprs: Expr[], context: string, offset: number): SqlType {
    try {
      return commonType(exprs.map((e) => e.type), context);
    } catch (error) {
      if (error instanceof DataError) throw new BindError(error.sqlState, error.message, offset);
      throw error;
    }
  }

  #callExpr(name: string, fn: ReturnType<typeof resolveFunction>, args: Expr[]): Expr {
    return {
      kind: "call",
      type: fn.result,
      name,
      strict: fn.strict,
      args: args.map((a, i) => this.#coerce(a, fn.args[i] ?? a.type)),
      fn: fn.fn,
    };
  }

  #call(ast: Extract<AstExpr, { kind: "call" }>, scope: Scope): Expr {
    const name = ast.name.toLowerCase();
    if (aggregateNames.has(name)) {
      if (scope.aggregates === undefined) {
        throw new BindError("42803", "aggregate functions are not allowed here", ast.offset);
      }
      const args = ast.args.map((a) => this.expr(a, scope.aggregatesInputScope ?? scope));
      const aggregate = resolveAggregate(name, args.map((a) => a.type), ast.star);
      const call: AggregateCall = {
        aggregate,
        args: args.map((a, i) => this.#coerce(a, aggregate.args[i] ?? a.type)),
        distinct: ast.distinct,
        filter: ast.filter
          ? this.#boolean(ast.filter, scope.aggregatesInputScope ?? scope)
          : undefined,
        orderBy: ast.orderBy.map((o) => this.#sortKey(o, scope.aggregatesInputScope ?? scope)),
      };
      const index = scope.aggregates.length;
      scope.aggregates.push(call);
      return { kind: "column", type: aggregate.result, index: (scope.groupCount ?? 0) + index };
    }
    if (name === "__any" || name === "__all" || name === "__subscript" || name === "__array") {
      return this.#arrayOperation(name, ast, scope);
    }
    if (name === "coalesce") {
      const args = ast.args.map((a) => this.expr(a, scope));
      const type = this.#commonType(args, "COALESCE", ast.offset);
      return { kind: "coalesce", type, args: args.map((a) => this.#coerce(a, type)) };
    }
    if (name === "nullif") {
      const [a, b] = this.#comparable(ast.args[0]!, ast.args[1]!, scope);
      const order = comparator(a.type);
      return {
        kind: "call",
        type: a.type,
        name,
        strict: false,
        args: [a, b],
        fn: ([x, y]) => (x !== null && y !== null && order(x!, y!) === 0 ? null : x!),
      };
    }
    if (name === "greatest" || name === "least") {
      const args = ast.args.map((a) => this.expr(a, scope));
      const type = this.#commonType(args, name.toUpperCase(), ast.offset);
      const order = comparator(type);
      const better = name === "greatest" ? 1 : -1;
      return {
        kind: "call",
        type,
        name,
        strict: false,
        args: args.map((a) => this.#coerce(a, type)),
        fn: (values) =>
          values.reduce<SqlValue>(
            (acc, v) => (v === null ? acc : acc === null || order(v, acc) * better > 0 ? v : acc),
            null,
          ),
      };
    }
    const args = ast.args.map((a) => this.expr(a, scope));
    let fn;
    try {
      fn = resolveFunction(name, args.map((a) => a.type));
    } catch (error) {
      if (error instanceof DataError) {
        throw new BindError(error.sqlState, error.message, ast.offset);
      }
      throw error;
    }
    return this.#callExpr(name, fn, args);
  }

  /** x op ANY/ALL (array), array[i], ARRAY(subquery). */
  #arrayOperation(name: string, ast: Extract<AstExpr, { kind: "call" }>, scope: Scope): Expr {
    if (name === "__array") {
      const query = ast.args[0]!;
      if (query.kind !== "subquery") throw notSupported("ARRAY()", ast.offset);
      const { plan } = this.#subquery(query.query, scope);
      if (plan.columns.length !== 1) {
        throw new BindError("42601", "subquery must return only one column", ast.offset);
      }
      return { kind: "arraySubquery", type: arrayOf(plan.columns[0]!.type), plan };
    }
    if (name === "__subscript") {
      const array = this.expr(ast.args[0]!, scope);
      if (array.type.id !== 100) {
        throw new BindError(
          "42804",
          `cannot subscript type ${typeName(array.type)} because it does not support subscripting`,
          ast.offset,
        );
      }
      const index = this.#coerce(this.expr(ast.args[1]!, scope, t.int4), t.int4);
      return {
        kind: "call",
        type: array.type.element ?? t.text,
        name,
        strict: true,
        args: [array, index],
        fn: ([values, i]) => (values as unknown as SqlValue[])[(i as number) - 1] ?? null,
      };
    }
    const op = (ast.args[2] as { value: string }).value;
    let left = this.expr(ast.args[0]!, scope);
    let array = this.expr(
      ast.args[1]!,
      scope,
      isUnknown(left.type) ? undefined : arrayOf(left.type),
    );
    if (array.type.id !== 100) {
      throw new BindError(
        "42809",
        `op ANY/ALL (array) requires array on right side`,
        ast.offset,
      );
    }
    const element = array.type.element ?? t.text;
    if (isUnknown(left.type)) left = this.expr(ast.args[0]!, scope, element);
    const type = comparisonType(left.type, element) ?? element;
    let test;
    try {
      test = resolveBinary(op, type, type).fn;
    } catch (error) {
      if (error instanceof DataError) {
        throw new BindError(error.sqlState, error.message, ast.offset);
      }
      throw error;
    }
    left = this.#coerce(left, type);
    array = this.#coerce(array, arrayOf(type));
    const any = name === "__any";
    return {
      kind: "call",
      type: t.bool,
      name,
      strict: false,
      args: [left, array],
      fn: ([value, values]) => {
        if (values === null) return null;
        const list = values as unknown as SqlValue[];
        if (list.length === 0) return !any;
        if (value === null) return null;
        let sawNull = false;
        for (const candidate of list) {
          if (candidate === null) {
            sawNull = true;
            continue;
          }
          const result = test(value!, candidate) === true;
          if (any && result) return true;
          if (!any && !result) return false;
        }
        return sawNull ? null : !any;
      },
    };
  }

  #sortKey(
    item: { expr: AstExpr; descending: boolean; nullsFirst: boolean | undefined },
    scope: Scope,
  ): SortKey {
    const expr = this.expr(item.expr, scope);
    const type = isUnknown(expr.type) ? t.text : expr.type;
    return {
      expr,
      descending: item.descending,
      nullsFirst: item.nullsFirst ?? item.descending,
      compare: comparator(type),
    };
  }

  // -------------------------------------------------------------- FROM

  #from(items: FromItem[], outer: Scope | undefined): { plan: PlanNode | undefined; scope: Scope } {
    let plan: PlanNode | undefined;
    let scope: Scope = { columns: [] };
    for (const item of items) {
      const next = this.#fromItem(item, outer);
      if (plan === undefined) {
        plan = next.plan;
        scope = next.scope;
      } else {
        checkDistinctTables(scope, next.scope, offsetOf(item));
        const shifted = next.scope.columns.map((c) => ({
          ...c,
          index: c.index + scope.columns.length,
        }));
        plan = {
          kind: "join",
          columns: [...plan.columns, ...next.plan.columns],
          joinType: "cross",
          left: plan,
          right: next.plan,
          condition: undefined,
          hashKeys: undefined,
        };
        scope = { columns: [...scope.columns, ...shifted] };
      }
    }
    return { plan, scope };
  }

  #fromItem(item: FromItem, outer: Scope | undefined): { plan: PlanNode; scope: Scope } {
    switch (item.kind) {
      case "table": {
        const cte = item.schema === undefined ? this.#cte(item.name) : undefined;
        if (cte !== undefined) {
          const scope = derivedScope(
            item.alias ?? item.name,
            item.columnAliases,
            cte.plan,
            cte.names,
          );
          return { plan: cte.plan, scope };
        }
        const system = item.schema === "public"
          ? undefined
          : findSystemRelation(item.schema, item.name);
        if (system !== undefined) {
          const plan = systemScan(system);
          const alias = item.alias ?? item.name;
          const columns = plan.columns.map((c, index) => ({
            table: alias,
            name: item.columnAliases[index] ?? c.name,
            type: c.type,
            index,
            tableOid: c.tableOid,
            columnNumber: c.columnNumber,
          }));
          return { plan, scope: { columns } };
        }
        if (item.schema === "pg_catalog" || item.schema === "information_schema") {
          throw new BindError(
            "42P01",
            `relation "${item.schema}.${item.name}" does not exist`,
            item.offset,
          );
        }
        const table = this.table(item.name, item.offset);
        const alias = item.alias ?? item.name;
        const columns: ScopeColumn[] = [];
        const output: OutputColumn[] = [];
        table.def.columns.forEach((column, index) => {
          if (column.dropped) return;
          const type = columnType(table, index);
          columns.push({
            table: alias,
            name: item.columnAliases[columns.length] ?? column.name,
            type,
            index,
            tableOid: table.def.id,
            columnNumber: index + 1,
          });
          output.push({ name: column.name, type, tableOid: table.def.id, columnNumber: index + 1 });
        });
        const allColumns: OutputColumn[] = table.def.columns.map((c, i) => ({
          name: c.name,
          type: columnType(table, i),
          tableOid: table.def.id,
          columnNumber: i + 1,
        }));
        const plan: PlanNode = {
          kind: "scan",
          columns: allColumns,
          table,
          lookup: undefined,
          lower: undefined,
          upper: undefined,
          reverse: false,
        };
        return { plan, scope: { columns } };
      }
      case "subquery": {
        const { plan } = this.select(item.query, outer);
        const scope = derivedScope(item.alias, item.columnAliases, plan);
        return {
          plan: {
            kind: "materialize",
            columns: plan.columns,
            input: plan,
            id: this.#nextMaterialize++,
          },
          scope,
        };
      }
      case "function": {
        const name = item.call.name.toLowerCase();
        const args = item.call.args.map((a) =>
          this.expr(a, outer === undefined ? { columns: [] } : { columns: [], parent: outer })
        );
        if (name !== "generate_series" && name !== "unnest") {
          throw new BindError(
            "42883",
            `function ${name} is not a table function here`,
            item.offset,
          );
        }
        let type = args[0]?.type ?? t.int4;
        if (name === "generate_series") {
          type = args.slice(0, 2).reduce(
            (acc, a) => (isUnknown(a.type) ? acc : comparisonType(acc, a.type) ?? acc),
            isUnknown(type) ? t.int4 : type,
          );
        }
        const columnName = item.columnAliases[0] ?? item.alias ?? name;
        const out: OutputColumn = {
          name: columnName,
          type: name === "unnest" ? (type.element ?? t.text) : type,
          tableOid: 0,
          columnNumber: 0,
        };
        const coerced = name === "generate_series"
          ? args.map((a, i) =>
            this.#coerce(
              a,
              i === 2 && (type.id === TypeId.timestamp || type.id === TypeId.timestamptz)
                ? t.interval
                : type,
            )
          )
          : args;
        return {
          plan: { kind: "function", columns: [out], name, args: coerced },
          scope: {
            columns: [{
              table: item.alias ?? name,
              name: columnName,
              type: out.type,
              index: 0,
              tableOid: 0,
              columnNumber: 0,
            }],
          },
        };
      }
      case "join": {
        const left = this.#fromItem(item.left, outer);
        const lateral = item.right.kind === "subquery" && item.right.lateral === true;
        if (lateral && (item.joinType === "right" || item.joinType === "full")) {
          throw new BindError(
            "42601",
            `The combining JOIN type must be INNER or LEFT for a LATERAL reference.`,
            item.offset,
          );
        }
        const right = lateral
          ? this.#lateral(
            item.right as Extract<FromItem, { kind: "subquery" }>,
            { columns: left.scope.columns, ...(outer ? { parent: outer } : {}) },
          )
          : this.#fromItem(item.right, outer);
        checkDistinctTables(left.scope, right.scope, item.offset);
        // USING (a): one output column a — the left side's (the right side's for RIGHT JOIN).
        // NATURAL JOIN: USING every column name both sides have.
        const usingNames = item.natural
          ? left.scope.columns.map((c) => c.name).filter((name) =>
            right.scope.columns.some((c) => c.name === name)
          ).filter((name, i, all) => all.indexOf(name) === i)
          : item.using;
        const using = item.joinType === "full" ? [] : usingNames ?? [];
        const hide = (c: ScopeColumn, side: "left" | "right"): ScopeColumn =>
          using.includes(c.name) && (item.joinType === "right") === (side === "left")
            ? { ...c, merged: true }
            : c;
        const shifted = right.scope.columns.map((c) => ({
          ...hide(c, "right"),
          index: c.index + left.plan.columns.length,
        }));
        const scope: Scope = {
          columns: [...left.scope.columns.map((c) => hide(c, "left")), ...shifted],
        };
        let condition: Expr | undefined;
        if (item.on) condition = this.#boolean(item.on, scope);
        if (usingNames !== undefined && usingNames.length > 0) {
          condition = {
            kind: "and",
            type: t.bool,
            args: usingNames.map((name) =>
              this.#binary(
                "=",
                {
                  kind: "column",
                  parts: [left.scope.columns.find((c) => c.name === name)?.table ?? "", name],
                  offset: item.offset,
                },
                {
                  kind: "column",
                  parts: [right.scope.columns.find((c) => c.name === name)?.table ?? "", name],
                  offset: item.offset,
                },
                scope,
                item.offset,
              )
            ),
          };
        }
        const plan: PlanNode = {
          kind: "join",
          columns: [...left.plan.columns, ...right.plan.columns],
          joinType: item.joinType,
          left: left.plan,
          right: right.plan,
          condition,
          hashKeys: undefined,
          ...(lateral ? { lookup: true as const } : {}),
        };
        return { plan, scope };
      }
    }
  }

  /** A LATERAL subquery: bound with the FROM items to its left as its outer scope. */
  #lateral(
    item: Extract<FromItem, { kind: "subquery" }>,
    leftScope: Scope,
  ): { plan: PlanNode; scope: Scope } {
    const { plan } = this.select(item.query, leftScope);
    return { plan, scope: derivedScope(item.alias, item.columnAliases, plan) };
  }

  // -------------------------------------------------------------- SELECT

  /** Binds a SELECT; `outer` is the enclosing query's scope for correlated subqueries. */
  select(statement: SelectStatement, outer?: Scope): { plan: PlanNode } {
    if (statement.with.length === 0) return this.#selectBody(statement, outer);
    const ctes = new Map<string, { plan: PlanNode; names: string[] }>();
    this.#ctes.push(ctes);
    try {
      for (const cte of statement.with) {
        if (ctes.has(cte.name)) {
          throw new BindError(
            "42712",
            `WITH query name "${cte.name}" specified more than once`,
            cte.query.offset,
          );
        }
        const { plan } = this.select(cte.query, outer);
        if (cte.columns.length > plan.columns.length) {
          throw new BindError(
            "42P10",
            `WITH query "${cte.name}" has ${plan.columns.length} columns available but ${cte.columns.length} columns specified`,
            cte.query.offset,
          );
        }
        const names = plan.columns.map((c, i) => cte.columns[i] ?? c.name);
        ctes.set(cte.name, {
          plan: {
            kind: "materialize",
            columns: plan.columns,
            input: plan,
            id: this.#nextMaterialize++,
          },
          names,
        });
      }
      return this.#selectBody(statement, outer);
    } finally {
      this.#ctes.pop();
    }
  }

  /** The CTE named `name` visible here, innermost first. */
  #cte(name: string): { plan: PlanNode; names: string[] } | undefined {
    for (let i = this.#ctes.length - 1; i >= 0; i--) {
      const found = this.#ctes[i]!.get(name);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  #selectBody(statement: SelectStatement, outer: Scope | undefined): { plan: PlanNode } {
    const body = statement.body;
    if (body.kind !== "core") {
      if (body.kind === "values") {
        if (body.rows.some((row) => row.length !== body.rows[0]!.length)) {
          throw new BindError("42601", "VALUES lists must all be the same length", body.offset);
        }
        const rows = body.rows.map((row) =>
          row.map((e) => this.expr(e, { columns: [], parent: outer }))
        );
        const columns = rows[0]!.map((_e, i) => ({
          name: `column${i + 1}`,
          type: this.#commonType(rows.map((r) => r[i]!), "VALUES", body.offset),
          tableOid: 0,
          columnNumber: 0,
        }));
        const plan: PlanNode = {
          kind: "values",
          columns,
          rows: rows.map((r) => r.map((e, i) => this.#coerce(e, columns[i]!.type))),
        };
        return { plan: this.#finish(plan, statement, undefined) };
      }
      if (body.kind === "select") return this.select(body, outer);
      const left = this.select({
        kind: "select",
        with: [],
        body: body.left,
        orderBy: [],
        limit: undefined,
        offsetRows: undefined,
        offset: body.offset,
      }, outer).plan;
      const right = this.select({
        kind: "select",
        with: [],
        body: body.right,
        orderBy: [],
        limit: undefined,
        offsetRows: undefined,
        offset: body.offset,
      }, outer).plan;
      if (left.columns.length !== right.columns.length) {
        throw new BindError(
          "42601",
          `each ${body.op.toUpperCase()} query must have the same number of columns`,
          body.offset,
        );
      }
      // Column types by the UNION rules; each side is cast to them where it differs.
      const types = left.columns.map((_c, i) =>
        this.#setOpType(left, right, i, `${body.op.toUpperCase()}`, body.offset)
      );
      const cast = (side: PlanNode): PlanNode => {
        if (side.columns.every((c, i) => c.type.id === types[i]!.id)) return side;
        const columns = side.columns.map((c, i) => ({ ...c, type: types[i]! }));
        const exprs = side.columns.map((c, i) =>
          this.#coerce({ kind: "column", type: c.type, index: i }, types[i]!)
        );
        return { kind: "project", columns, input: side, exprs };
      };
      const plan: PlanNode = {
        kind: "setOp",
        columns: left.columns.map((c, i) => ({ ...c, type: types[i]! })),
        op: body.op,
        all: body.all,
        left: cast(left),
        right: cast(right),
      };
      return { plan: this.#finish(plan, statement, undefined) };
    }
    return { plan: this.#core(body, statement, outer) };
  }

  #core(core: SelectCore, statement: SelectStatement, outer: Scope | undefined): PlanNode {
    const from = this.#from(core.from, outer);
    let plan: PlanNode = from.plan ?? { kind: "values", columns: [], rows: [[]] };
    const scope: Scope = { ...from.scope, parent: outer };
    const where = core.where ? this.#boolean(core.where, scope) : undefined;
    plan = this.#place(plan, where === undefined ? [] : conjunctsOf(where));
    // Targets (with * expanded).
    const targets: { ast: AstExpr; name: string }[] = [];
    for (const target of core.targets) {
      if (target.expr.kind === "star") {
        const star = target.expr;
        for (const column of scope.columns) {
          if (star.table !== undefined && column.table !== star.table) continue;
          if (star.table === undefined && column.merged) continue;
          targets.push({
            ast: { kind: "column", parts: [column.table ?? "", column.name], offset: star.offset },
            name: column.name,
          });
        }
        continue;
      }
      targets.push({ ast: target.expr, name: target.alias ?? defaultName(target.expr) });
    }
    const grouped = core.groupBy.length > 0 || core.having !== undefined ||
      core.targets.some((t) => containsAggregate(t.expr)) ||
      statement.orderBy.some((o) => containsAggregate(o.expr));
    let exprs: Expr[];
    if (core.distinct && core.distinctOn === undefined) {
      const targetText = targets.map((target) => JSON.stringify(stripOffsets(target.ast)));
      for (const o of statement.orderBy) {
        const named = o.expr.kind === "column" && o.expr.parts.length === 1 &&
          targets.some((target) => target.name === (o.expr as { parts: string[] }).parts[0]);
        const ordinal = o.expr.kind === "number";
        if (!named && !ordinal && !targetText.includes(JSON.stringify(stripOffsets(o.expr)))) {
          throw new BindError(
            "42P10",
            "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            o.expr.offset,
          );
        }
      }
    }
    // GROUP BY name: an input column first, else an output column alias (PostgreSQL).
    const groupBy = core.groupBy.map((g) => {
      if (g.kind !== "column" || g.parts.length !== 1) return g;
      if (scope.columns.some((c) => c.name === g.parts[0])) return g;
      return targets.find((target) => target.name === g.parts[0])?.ast ?? g;
    });
    if (grouped) {
      const groupExprs = groupBy.map((g) => {
        if (g.kind === "number") {
          const target = targets[Number(g.text) - 1];
          if (!target) {
            throw new BindError(
              "42P10",
              `GROUP BY position ${g.text} is not in select list`,
              g.offset,
            );
          }
          return this.expr(target.ast, scope);
        }
        return this.expr(g, scope);
      });
      const aggregates: AggregateCall[] = [];
      const groupScope: Scope & { aggregatesInputScope: Scope; groupCount: number } = {
        columns: [],
        aggregates,
        aggregatesInputScope: scope,
        groupCount: groupExprs.length,
      };
      // Group keys are visible as columns 0..n-1; other column references must be grouped.
      const keyText = groupBy.map((g) =>
        JSON.stringify(stripOffsets(g.kind === "number" ? targets[Number(g.text) - 1]!.ast : g))
      );
      const bindGrouped = (ast: AstExpr): Expr =>
        this.#groupedExpr(ast, scope, groupScope, keyText);
      exprs = targets.map((target) => bindGrouped(target.ast));
      const having = core.having ? bindGrouped(core.having) : undefined;
      const orderKeys = statement.orderBy.map((o) => ({
        ...o,
        bound: this.#orderTarget(o.expr, targets, exprs) ?? bindGrouped(o.expr),
      }));
      plan = {
        kind: "aggregate",
        columns: [
          ...groupExprs.map((e, i) => ({
            name: `group${i}`,
            type: e.type,
            tableOid: 0,
            columnNumber: 0,
          })),
          ...aggregates.map((a, i) => ({
            name: `agg${i}`,
            type: a.aggregate.result,
            tableOid: 0,
            columnNumber: 0,
          })),
        ],
        input: plan,
        groupBy: groupExprs,
        aggregates,
      };
      if (having) plan = { kind: "filter", columns: plan.columns, input: plan, predicate: having };
      if (orderKeys.length > 0) {
        const keys: SortKey[] = orderKeys.map((o) => ({
          expr: o.bound,
          descending: o.descending,
          nullsFirst: o.nullsFirst ?? o.descending,
          compare: comparator(isUnknown(o.bound.type) ? t.text : o.bound.type),
        }));
        plan = { kind: "sort", columns: plan.columns, input: plan, keys };
      }
    } else {
      exprs = targets.map((target) => this.expr(target.ast, scope));
      if (statement.orderBy.length > 0) {
        const keys = statement.orderBy.map((o) => {
          const bound = this.#orderTarget(o.expr, targets, exprs) ?? this.expr(o.expr, scope);
          return {
            expr: bound,
            descending: o.descending,
            nullsFirst: o.nullsFirst ?? o.descending,
            compare: comparator(isUnknown(bound.type) ? t.text : bound.type),
          };
        });
        plan = keyOrdered(plan, keys) ?? { kind: "sort", columns: plan.columns, input: plan, keys };
      }
    }
    const columns: OutputColumn[] = exprs.map((e, i) => {
      const source = e.kind === "column" && !grouped
        ? scope.columns.find((c) => c.index === e.index)
        : undefined;
      return {
        name: targets[i]!.name,
        type: isUnknown(e.type) ? t.text : e.type,
        tableOid: source?.tableOid ?? 0,
        columnNumber: source?.columnNumber ?? 0,
      };
    });
    plan = {
      kind: "project",
      columns,
      input: plan,
      exprs: exprs.map((e) => (isUnknown(e.type) ? this.#coerce(e, t.text) : e)),
    };
    if (core.distinct) {
      // DISTINCT ON keys are select-list entries (by expression, alias or position): the
      // distinct node runs on projected rows.
      const on = core.distinctOn?.map((ast): Expr => {
        const index = ast.kind === "number"
          ? Number(ast.text) - 1
          : targets.findIndex((target) =>
            JSON.stringify(stripOffsets(target.ast)) === JSON.stringify(stripOffsets(ast)) ||
            (ast.kind === "column" && ast.parts.length === 1 && target.name === ast.parts[0])
          );
        if (index < 0 || index >= columns.length) {
          throw notSupported("DISTINCT ON an expression outside the select list", ast.offset);
        }
        return { kind: "column", type: columns[index]!.type, index };
      });
      plan = { kind: "distinct", columns, input: plan, on };
    }
    return this.#finish(plan, statement, core);
  }

  /** ORDER BY n or an output alias refer to select-list entries. */
  #orderTarget(
    ast: AstExpr,
    targets: { ast: AstExpr; name: string }[],
    exprs: Expr[],
  ): Expr | undefined {
    if (ast.kind === "number" && /^\d+$/.test(ast.text)) {
      const expr = exprs[Number(ast.text) - 1];
      if (!expr) {
        throw new BindError(
          "42P10",
          `ORDER BY position ${ast.text} is not in select list`,
          ast.offset,
        );
      }
      return expr;
    }
    if (ast.kind === "column" && ast.parts.length === 1) {
      // An output name: an alias, or a column's own name when that is not ambiguous.
      const index = targets.findIndex((target) =>
        target.name === ast.parts[0] &&
        (target.ast.kind !== "column" ||
          target.ast.parts[target.ast.parts.length - 1] !== target.name)
      );
      if (index >= 0) return exprs[index];
    }
    return undefined;
  }

  #groupedExpr(
    ast: AstExpr,
    inputScope: Scope,
    groupScope: Scope & { groupCount: number },
    keyText: string[],
  ): Expr {
    const key = JSON.stringify(stripOffsets(ast));
    const groupIndex = keyText.indexOf(key);
    if (groupIndex >= 0) {
      const expr = this.expr(ast, inputScope);
      return { kind: "column", type: expr.type, index: groupIndex };
    }
    if (ast.kind === "call" && aggregateNames.has(ast.name.toLowerCase())) {
      return this.expr(ast, groupScope);
    }
    if (ast.kind === "column") {
      throw new BindError(
        "42803",
        `column "${
          ast.parts.join(".")
        }" must appear in the GROUP BY clause or be used in an aggregate function`,
        ast.offset,
      );
    }
    // Rebuild the node with grouped children (operators and functions over groups and aggregates).
    const rebind = (child: AstExpr) => this.#groupedExpr(child, inputScope, groupScope, keyText);
    switch (ast.kind) {
      case "binary": {
        const left = rebind(ast.left);
        const right = rebind(ast.right);
        const resolved = resolveBinary(ast.op, left.type, right.type);
        return {
          kind: "call",
          type: resolved.result,
          name: ast.op,
          strict: true,
          args: [this.#coerce(left, resolved.left), this.#coerce(right, resolved.right)],
          fn: ([a, b]) => resolved.fn(a!, b!),
        };
      }
      case "cast":
        return this.#coerce(rebind(ast.arg), resolveTypeName(ast.type), true);
      case "and":
      case "or":
        return { kind: ast.kind, type: t.bool, args: ast.args.map(rebind) };
      case "not":
        return { kind: "not", type: t.bool, arg: rebind(ast.arg) };
      case "number":
      case "string":
      case "bool":
      case "null":
      case "param":
      case "typed":
        return this.expr(ast, inputScope);
      case "call": {
        const args = ast.args.map(rebind);
        const fn = resolveFunction(ast.name, args.map((a) => a.type));
        return this.#callExpr(ast.name, fn, args);
      }
      default:
        return this.expr(ast, inputScope);
    }
  }

  #finish(plan: PlanNode, statement: SelectStatement, core: SelectCore | undefined): PlanNode {
    let out = plan;
    if (!core && statement.orderBy.length > 0) {
      const scope: Scope = {
        columns: out.columns.map((c, index) => ({
          table: undefined,
          name: c.name,
          type: c.type,
          index,
          tableOid: 0,
          columnNumber: 0,
        })),
      };
      const keys = statement.orderBy.map((o) => {
        const expr = o.expr.kind === "number"
          ? {
            kind: "column" as const,
            type: out.columns[Number(o.expr.text) - 1]!.type,
            index: Number(o.expr.text) - 1,
          }
          : this.expr(o.expr, scope);
        return {
          expr,
          descending: o.descending,
          nullsFirst: o.nullsFirst ?? o.descending,
          compare: comparator(isUnknown(expr.type) ? t.text : expr.type),
        };
      });
      out = { kind: "sort", columns: out.columns, input: out, keys };
    }
    if (statement.limit !== undefined || statement.offsetRows !== undefined) {
      const none: Scope = { columns: [] };
      out = {
        kind: "limit",
        columns: out.columns,
        input: out,
        limit: statement.limit
          ? this.#coerce(this.expr(statement.limit, none, t.int8), t.int8)
          : undefined,
        offset: statement.offsetRows
          ? this.#coerce(this.expr(statement.offsetRows, none, t.int8), t.int8)
          : undefined,
      };
    }
    return out;
  }

  /** A scan whose predicate fixes every primary-key column becomes a point lookup. */
  /**
   * UPDATE … FROM: the target's rows (`target`, read through `targetScope`) joined with the
   * FROM items and filtered by WHERE. Rows are the target's columns then the FROM items';
   * `scope` names them all, for binding SET expressions over the same rows.
   */
  updateSource(
    target: PlanNode,
    targetScope: Scope,
    from: FromItem[],
    where: AstExpr | undefined,
  ): { plan: PlanNode; scope: Scope; predicate: Expr | undefined } {
    const items = this.#from(from, undefined);
    const width = target.columns.length;
    const scope: Scope = {
      columns: [
        ...targetScope.columns,
        ...items.scope.columns.map((c) => ({ ...c, index: c.index + width })),
      ],
    };
    const joined: PlanNode = {
      kind: "join",
      columns: [...target.columns, ...items.plan!.columns],
      joinType: "cross",
      left: target,
      right: items.plan!,
      condition: undefined,
      hashKeys: undefined,
    };
    const predicate = where === undefined ? undefined : this.#boolean(where, scope);
    const plan = this.#place(joined, predicate === undefined ? [] : conjunctsOf(predicate));
    return { plan, scope, predicate };
  }

  /**
   * Places WHERE conjuncts over `plan`: below inner and cross joins onto the side whose columns
   * they read (down to table access paths), the rest into the join condition; equalities
   * between the two sides of any join become its hash keys. Conjuncts holding subqueries stay
   * where they were written (their outer references point at this row).
   */
  #place(plan: PlanNode, conjuncts: Expr[]): PlanNode {
    if (plan.kind !== "join") {
      if (conjuncts.length === 0) return plan;
      const predicate = andOf(conjuncts);
      return this.accessPath(plan, predicate) ??
        { kind: "filter", columns: plan.columns, input: plan, predicate };
    }
    const leftWidth = plan.left.columns.length;
    const inner = plan.joinType === "inner" || plan.joinType === "cross";
    const toLeft: Expr[] = [];
    const toRight: Expr[] = [];
    const here: Expr[] = [];
    const own = plan.condition === undefined ? [] : conjunctsOf(plan.condition);
    for (const c of inner ? [...own, ...conjuncts] : conjuncts) {
      const columns = inner ? columnsOf(c) : undefined;
      if (columns === undefined || columns.size === 0) here.push(c);
      else if ([...columns].every((i) => i < leftWidth)) toLeft.push(c);
      else if ([...columns].every((i) => i >= leftWidth)) toRight.push(shiftColumns(c, -leftWidth));
      else here.push(c);
    }
    const left = this.#place(plan.left, toLeft);
    const right = this.#place(plan.right, toRight);
    const conditionParts = inner ? here : own;
    const joined: PlanNode = {
      ...plan,
      joinType: plan.joinType === "cross" && conditionParts.length > 0 ? "inner" : plan.joinType,
      left,
      right,
      ...joinCondition(conditionParts, leftWidth),
    };
    const chosen = this.#indexNestedLoop(joined) ?? joined;
    if (inner || conjuncts.length === 0) return chosen;
    return { kind: "filter", columns: chosen.columns, input: chosen, predicate: andOf(conjuncts) };
  }

  #estimator: RowEstimator | undefined;

  /** Row estimates from the tables' statistics at this statement's snapshot. */
  get estimator(): RowEstimator {
    this.#estimator ??= new RowEstimator((table) =>
      this.ctx.catalog.statistics(table.def.name, this.ctx.txn, this.ctx.snapshot)
    );
    return this.#estimator;
  }

  /**
   * The index nested loop for a hash join whose right side is a table with a key or index on
   * its join columns, when looking each left row up costs less than building the hash table:
   * about `lookupCost` probes per left row against one pass over the right table.
   */
  #indexNestedLoop(join: Extract<PlanNode, { kind: "join" }>): PlanNode | undefined {
    if (join.hashKeys === undefined) return undefined;
    if (join.joinType !== "inner" && join.joinType !== "left") return undefined;
    const filter = join.right.kind === "filter" ? join.right : undefined;
    const scan = filter?.input ?? join.right;
    if (scan.kind !== "scan" || scan.lookup !== undefined || scan.lower || scan.upper) {
      return undefined;
    }
    const lookupCost = 3;
    const leftRows = this.estimator.rows(join.left);
    if (leftRows * lookupCost >= this.estimator.rows(scan) + leftRows) return undefined;
    const equalities: Expr[] = [];
    for (const [i, right] of join.hashKeys.right.entries()) {
      const value = asOuter(join.hashKeys.left[i]!);
      if (right.kind !== "column" || value === undefined) return undefined;
      equalities.push(this.#binaryExpr("=", right, value));
    }
    const access = this.accessPath(scan, andOf(equalities));
    const keyed = access?.kind === "filter" ? access.input : access;
    if (
      keyed === undefined || !(keyed.kind === "indexScan" || keyed.kind === "scan" && keyed.lookup)
    ) {
      return undefined;
    }
    const right: PlanNode = filter === undefined ? access! : { ...filter, input: access! };
    // The lookup answers the equalities; the rest of the condition stays on the pair.
    return { ...join, right, hashKeys: undefined, lookup: true };
  }

  /**
   * Chooses how to read a table for a WHERE: an exact primary-key lookup (every key column
   * equal to a value known before the scan), else a secondary index whose leading columns are
   * equal to such values (the most columns wins), else a primary-key range for comparisons on
   * a one-column key. Values may be constants, parameters or enclosing rows' columns (an index
   * nested loop for correlated subqueries). The predicate is re-checked on what an index or
   * range returns; only conjuncts an exact lookup answers are dropped.
   */
  accessPath(plan: PlanNode, predicate: Expr): PlanNode | undefined {
    if (plan.kind !== "scan") return undefined;
    const table = plan.table;
    const pk = table.def.primaryKey;
    const conjuncts = predicate.kind === "and" ? predicate.args : [predicate];
    const equalities = new Map<number, { value: Expr; conjunct: Expr }>();
    let lower: KeyBound | undefined;
    let upper: KeyBound | undefined;
    for (const c of conjuncts) {
      const match = c.kind === "call" ? columnComparison(c) : undefined;
      if (match === undefined) continue;
      if (match.op === "=") {
        if (!equalities.has(match.column)) {
          equalities.set(match.column, { value: match.value, conjunct: c });
        }
        continue;
      }
      if (pk.length !== 1 || match.column !== pk[0]) continue;
      const bound = { values: [match.value], inclusive: match.op === ">=" || match.op === "<=" };
      if ((match.op === ">" || match.op === ">=") && lower === undefined) lower = bound;
      if ((match.op === "<" || match.op === "<=") && upper === undefined) upper = bound;
    }
    const filtered = (input: PlanNode, rest: Expr[]): PlanNode =>
      rest.length === 0 ? input : {
        kind: "filter",
        columns: plan.columns,
        input,
        predicate: rest.length === 1 ? rest[0]! : { kind: "and", type: t.bool, args: rest },
      };
    if (pk.length > 0 && pk.every((column) => equalities.has(column))) {
      const used = new Set(pk.map((column) => equalities.get(column)!.conjunct));
      const scan: PlanNode = { ...plan, lookup: pk.map((column) => equalities.get(column)!.value) };
      return filtered(scan, conjuncts.filter((c) => !used.has(c)));
    }
    let best: { name: string; equal: Expr[] } | undefined;
    for (const index of table.def.indexes) {
      const equal: Expr[] = [];
      for (const part of index.columns) {
        const found = equalities.get(part.column);
        if (found === undefined) break;
        equal.push(found.value);
      }
      if (equal.length > 0 && (best === undefined || equal.length > best.equal.length)) {
        best = { name: index.name, equal };
      }
    }
    if (best !== undefined) {
      const scan: PlanNode = {
        kind: "indexScan",
        columns: plan.columns,
        table,
        index: best.name,
        equal: best.equal,
      };
      return filtered(scan, conjuncts);
    }
    if (lower !== undefined || upper !== undefined) {
      return filtered({ ...plan, lower, upper }, conjuncts);
    }
    return undefined;
  }

  /** Coerces for storage into a column of `type` (assignment: text → type, numbers narrowed). */
  assign(expr: Expr, type: SqlType): Expr {
    return this.#coerce(expr, type);
  }
}

/** Types whose key encoding orders exactly as SQL sorts them (C collation for text). */
const keyOrderedTypes: ReadonlySet<number> = new Set([
  TypeId.smallint,
  TypeId.integer,
  TypeId.bigint,
  TypeId.text,
  TypeId.varchar,
]);

/**
 * `plan` reading its table in clustering-key order instead of being sorted, when ORDER BY asks
 * for the leading primary-key columns, all ascending or all descending (a reverse scan), over
 * a plain or filtered table scan. Primary-key columns are NOT NULL, so NULLS FIRST/LAST cannot
 * matter. Undefined when a sort is still needed.
 */
function keyOrdered(plan: PlanNode, keys: SortKey[]): PlanNode | undefined {
  const scan = plan.kind === "filter" ? plan.input : plan;
  if (scan.kind !== "scan" || scan.lookup !== undefined || keys.length === 0) return undefined;
  const pk = scan.table.def.primaryKey;
  if (keys.length > pk.length) return undefined;
  const descending = keys[0]!.descending;
  const matches = keys.every((key, i) =>
    key.expr.kind === "column" && key.expr.index === pk[i] && key.descending === descending &&
    keyOrderedTypes.has(scan.table.def.columns[pk[i]!]!.type.id)
  );
  if (!matches) return undefined;
  const ordered: PlanNode = { ...scan, reverse: descending };
  return plan.kind === "filter" ? { ...plan, input: ordered } : ordered;
}

/**
 * The scope of a derived relation (FROM subquery, LATERAL, CTE reference): its plan's columns
 * under `alias`, named by the column aliases given, else `names`, else the plan's own names.
 */
function derivedScope(
  alias: string | undefined,
  aliases: string[],
  plan: PlanNode,
  names: string[] = [],
): Scope {
  return {
    columns: plan.columns.map((c, index) => ({
      table: alias,
      name: aliases[index] ?? names[index] ?? c.name,
      type: c.type,
      index,
      tableOid: 0,
      columnNumber: 0,
    })),
  };
}

/** The conjuncts of a predicate (nested ANDs flattened). */
function conjunctsOf(predicate: Expr): Expr[] {
  return predicate.kind === "and" ? predicate.args.flatMap(conjunctsOf) : [predicate];
}

function andOf(conjuncts: Expr[]): Expr {
  return conjuncts.length === 1 ? conjuncts[0]! : { kind: "and", type: t.bool, args: conjuncts };
}

/**
 * A join's hash keys and the condition left to evaluate on each candidate pair: equalities
 * used as hash keys are answered by the hash lookup (same type on both sides, so equal
 * values have equal keys) and are not evaluated again.
 */
function joinCondition(
  conjuncts: Expr[],
  leftWidth: number,
): { condition: Expr | undefined; hashKeys: { left: Expr[]; right: Expr[] } | undefined } {
  const hashed = hashKeysOf(conjuncts, leftWidth);
  const rest = hashed === undefined ? conjuncts : conjuncts.filter((c) => !hashed.used.has(c));
  return {
    condition: rest.length === 0 ? undefined : andOf(rest),
    hashKeys: hashed === undefined ? undefined : { left: hashed.left, right: hashed.right },
  };
}

/**
 * Hash keys for a join: conjuncts `l = r` with `l` reading only left columns and `r` only
 * right ones (or mirrored), of one type so equal values hash alike. Right keys are rebased to
 * the right input's row.
 */
function hashKeysOf(
  conjuncts: Expr[],
  leftWidth: number,
): { left: Expr[]; right: Expr[]; used: Set<Expr> } | undefined {
  const left: Expr[] = [];
  const right: Expr[] = [];
  const used = new Set<Expr>();
  for (const c of conjuncts) {
    if (c.kind !== "call" || c.name !== "=" || c.args.length !== 2) continue;
    const [a, b] = c.args as [Expr, Expr];
    if (a.type.id !== b.type.id) continue;
    const side = (e: Expr): "left" | "right" | undefined => {
      const columns = columnsOf(e);
      if (columns === undefined || columns.size === 0) return undefined;
      if ([...columns].every((i) => i < leftWidth)) return "left";
      if ([...columns].every((i) => i >= leftWidth)) return "right";
      return undefined;
    };
    const sa = side(a);
    const sb = side(b);
    if (sa === "left" && sb === "right") {
      left.push(a);
      right.push(shiftColumns(b, -leftWidth));
      used.add(c);
    } else if (sa === "right" && sb === "left") {
      left.push(b);
      right.push(shiftColumns(a, -leftWidth));
      used.add(c);
    }
  }
  return left.length === 0 ? undefined : { left, right, used };
}

/** Operators with their mirror image (for `value op column`). */
const mirroredComparisons: Record<string, string> = {
  "=": "=",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

/**
 * `column op value` (or mirrored) where the value is known before the scan: an expression of
 * constants, parameters and enclosing rows' columns.
 */
function columnComparison(
  call: Extract<Expr, { kind: "call" }>,
): { column: number; op: string; value: Expr } | undefined {
  const mirrored = mirroredComparisons[call.name];
  if (mirrored === undefined || call.args.length !== 2) return undefined;
  const [a, b] = call.args;
  // Known before the scan: reads no column of the scanned row (constants, parameters,
  // enclosing rows, and functions of those).
  const known = (e: Expr | undefined): boolean => {
    if (e === undefined) return false;
    const columns = columnsOf(e);
    return columns !== undefined && columns.size === 0 && !isVolatile(e);
  };
  if (a?.kind === "column" && known(b)) return { column: a.index, op: call.name, value: b! };
  if (b?.kind === "column" && known(a)) return { column: b.index, op: mirrored, value: a! };
  return undefined;
}

function containsAggregate(ast: AstExpr): boolean {
  if (ast.kind === "call" && aggregateNames.has(ast.name.toLowerCase())) return true;
  for (const value of Object.values(ast)) {
    if (value && typeof value === "object") {
      if (Array.isArray(value)) {
        if (
          value.some((v) =>
            v && typeof v === "object" && "kind" in v && containsAggregate(v as AstExpr)
          )
        ) return true;
      } else if (
        "kind" in value && typeof (value as { kind: unknown }).kind === "string" &&
        (value as { kind: string }).kind !== "select"
      ) {
        if (containsAggregate(value as AstExpr)) return true;
      }
    }
  }
  return false;
}

function stripOffsets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripOffsets);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== "offset") out[k] = stripOffsets(v);
    return out;
  }
  return value;
}

/** 42712 when two FROM items have the same name ("from t, t" without aliases). */
function checkDistinctTables(left: Scope, right: Scope, offset: number | undefined): void {
  const names = new Set(
    left.columns.map((c) => c.table).filter((n) => n !== undefined && n !== ""),
  );
  for (const c of right.columns) {
    if (c.table !== undefined && names.has(c.table)) {
      throw new BindError("42712", `table name "${c.table}" specified more than once`, offset);
    }
  }
}

function offsetOf(item: FromItem): number | undefined {
  return "offset" in item ? (item as { offset: number }).offset : undefined;
}

/** PostgreSQL's default output column names. */
export function defaultName(ast: AstExpr): string {
  switch (ast.kind) {
    case "column":
      return ast.parts[ast.parts.length - 1]!;
    case "call":
      return ast.name.toLowerCase();
    case "cast":
      return ast.arg.kind === "column"
        ? defaultName(ast.arg)
        : internalTypeName(resolveTypeName(ast.type));
    case "typed":
      return internalTypeName(resolveTypeName(ast.type));
    case "case":
      return "case";
    case "exists":
      return "exists";
    case "subquery": {
      // PostgreSQL names a scalar subquery after its query's first output column.
      const body = ast.query.body;
      const first = body.kind === "core" ? body.targets[0] : undefined;
      if (first === undefined || first.expr.kind === "star") return "?column?";
      return first.alias ?? defaultName(first.expr);
    }
    default:
      return "?column?";
  }
}

/** Raised for statements the binder does not handle yet (0A000 feature_not_supported). */
export function notSupported(what: string, offset?: number): BindError {
  return new BindError("0A000", `${what} is not supported yet`, offset);
}

export { SqlSyntaxError };
