/**
 * CHECK constraints as pg_get_constraintdef prints them. PostgreSQL stores the checked
 * expression after type resolution with constants folded, so a literal compared with a column
 * of another type prints as a constant of that type (`v > 0::numeric`), and the non-pretty form
 * parenthesizes every operator and cast (`((v > (0)::numeric))`). ExoDB keeps the CHECK's SQL
 * text; this re-derives the types by binding comparisons against the table's columns. Shapes
 * beyond comparisons of columns and literals joined by AND fall back to the text as written.
 */
import type { TableDef } from "../dbengine/table.ts";
import { Binder } from "./binder.ts";
import { comparisonType } from "./operators.ts";
import { formatType, quoteIdent } from "./reg_types.ts";
import type { AstExpr } from "./sql_ast.ts";
import { parseSql } from "./sql_parser.ts";
import type { SessionView } from "./functions.ts";
import { type SqlType, typeOid } from "./sql_types.ts";
import { TypeId } from "../dbengine/types.ts";

const comparisons = new Set(["=", "<>", "<", ">", "<=", ">="]);

/** `CHECK (…)` for a stored check on `table`, pretty or not. */
export function checkDefinition(
  view: SessionView,
  table: TableDef,
  sql: string,
  pretty: boolean,
): string {
  const typed = deparse(view, table, sql, pretty);
  if (typed === undefined) return pretty ? `CHECK (${sql})` : `CHECK ((${sql}))`;
  return `CHECK (${typed})`;
}

function deparse(
  view: SessionView,
  table: TableDef,
  sql: string,
  pretty: boolean,
): string | undefined {
  let ast: AstExpr;
  try {
    const statement = parseSql(`SELECT ${sql}`)[0]!.statement;
    if (statement.kind !== "select" || statement.body.kind !== "core") return undefined;
    ast = statement.body.targets[0]!.expr;
  } catch {
    return undefined;
  }
  const binder = new Binder({
    catalog: view.catalog,
    txn: view.txn,
    snapshot: view.snapshot,
    paramTypes: [],
    settings: { timeZoneOffsetSeconds: 0 },
  });
  const scope = {
    columns: table.columns.map((column, index) => ({
      table: table.name,
      name: column.name,
      type: { id: column.type.id, typmod: column.type.typmod } as SqlType,
      index,
      tableOid: table.id,
      columnNumber: index + 1,
    })).filter((c) => !table.columns[c.index]!.dropped),
  };
  const typeOf = (node: AstExpr): SqlType | undefined => {
    try {
      return binder.expr(node, scope).type;
    } catch {
      return undefined;
    }
  };
  const comparison = (node: AstExpr): string | undefined => {
    if (node.kind !== "binary" || !comparisons.has(node.op)) return undefined;
    const left = typeOf(node.left);
    const right = typeOf(node.right);
    if (left === undefined || right === undefined) return undefined;
    const common = comparisonType(left, right);
    if (common === undefined) return undefined;
    const l = operand(node.left, common, pretty);
    const r = operand(node.right, common, pretty);
    if (l === undefined || r === undefined) return undefined;
    return pretty ? `${l} ${node.op} ${r}` : `(${l} ${node.op} ${r})`;
  };
  if (ast.kind === "and") {
    const parts = ast.args.map(comparison);
    if (parts.some((p) => p === undefined)) return undefined;
    return pretty ? parts.join(" AND ") : `(${parts.join(" AND ")})`;
  }
  return comparison(ast);
}

/** One side of a comparison: a column, a number literal (cast when compared as another type),
 * or a string literal (a constant of the comparison's type). */
function operand(node: AstExpr, common: SqlType, pretty: boolean): string | undefined {
  if (node.kind === "column") return quoteIdent(node.parts[node.parts.length - 1]!);
  const typeText = formatType(typeOid(common), -1);
  if (node.kind === "number") {
    const own = numberType(node.text);
    const text = constantText(node.text, own);
    if (own === common.id) return text;
    return pretty ? `${text}::${typeText}` : `(${text})::${typeText}`;
  }
  if (node.kind === "string") {
    if (common.id === TypeId.integer && /^-?\d+$/.test(node.value)) {
      return constantText(node.value, TypeId.integer);
    }
    if (common.id === TypeId.boolean) {
      return /^(t|true|y|yes|on|1)$/i.test(node.value) ? "true" : "false";
    }
    return `'${node.value.replace(/'/g, "''")}'::${typeText}`;
  }
  return undefined;
}

/** The type a number literal has on its own: int4, int8 or numeric. */
function numberType(text: string): number {
  if (/^-?\d+$/.test(text)) {
    const value = BigInt(text);
    if (value >= -2147483648n && value <= 2147483647n) return TypeId.integer;
    if (value >= -(2n ** 63n) && value < 2n ** 63n) return TypeId.bigint;
  }
  return TypeId.numeric;
}

/** A constant as ruleutils prints it: int4 and float-looking numerics bare unless negative. */
function constantText(text: string, type: number): string {
  const negative = text.startsWith("-");
  if (type === TypeId.integer) return negative ? `'${text}'::integer` : text;
  if (type === TypeId.bigint) return `'${text}'::bigint`;
  return !negative && /[.eE]/.test(text) ? text : `'${text}'::numeric`;
}
