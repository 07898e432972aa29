/**
 * What every row written to a table must go through besides the engine's own checks: DEFAULT
 * expressions and identity values for columns not given, and CHECK constraints (a row passes
 * when each is true or NULL, as in PostgreSQL). The SQL text the catalog stores is parsed and
 * bound once per table definition, not per row.
 */
import type { Catalog } from "../dbengine/catalog.ts";
import type { Table, TableDef } from "../dbengine/table.ts";
import { type SqlValue, TypeId } from "../dbengine/types.ts";
import { ExoError } from "../lib/errors.ts";
import type { Binder, Scope } from "./binder.ts";
import { evaluate, type ExecContext } from "./executor.ts";
import { evaluateNow, isPlainExpr } from "./expr_now.ts";
import type { Expr } from "./plan.ts";
import { parseSql } from "./sql_parser.ts";
import type { SqlType } from "./sql_types.ts";

/** Bound DEFAULT expressions (by column position) and CHECK constraints of one definition. */
interface CompiledRules {
  defaults: (Expr | undefined)[];
  checks: { name: string; expr: Expr }[];
}

const compiled = new WeakMap<TableDef, CompiledRules>();

/** The columns of `table` as a binding scope (row = the table's stored row). */
export function tableScope(table: Table, alias = table.def.name): Scope {
  return {
    columns: table.def.columns.map((c, index) => ({
      table: alias,
      name: c.name,
      type: { id: c.type.id, typmod: c.type.typmod },
      index,
      tableOid: table.def.id,
      columnNumber: index + 1,
    })),
  };
}

/** Parses and binds one stored SQL expression over `scope`. */
export function bindStoredExpr(sql: string, binder: Binder, scope: Scope, type?: SqlType): Expr {
  const parsed = parseSql(`SELECT ${sql}`)[0]!.statement;
  if (parsed.kind !== "select" || parsed.body.kind !== "core") {
    throw new Error(`stored expression does not parse: ${sql}`);
  }
  return binder.expr(parsed.body.targets[0]!.expr, scope, type);
}

function rulesOf(table: Table, binder: Binder): CompiledRules {
  const known = compiled.get(table.def);
  if (known !== undefined) return known;
  const scope = tableScope(table);
  const rules: CompiledRules = {
    defaults: table.def.columns.map((column) => {
      if (column.defaultSql === null || column.dropped) return undefined;
      const type = column.type as SqlType;
      return binder.assign(bindStoredExpr(column.defaultSql, binder, { columns: [] }, type), type);
    }),
    checks: table.def.checks.map((check) => ({
      name: check.name,
      expr: bindStoredExpr(check.sql, binder, scope),
    })),
  };
  compiled.set(table.def, rules);
  return rules;
}

/** Fills the columns of `row` not in `given`: identity values, then DEFAULT expressions. */
export async function fillDefaults(
  table: Table,
  catalog: Catalog,
  binder: Binder,
  ctx: ExecContext,
  row: SqlValue[],
  given: Set<number>,
): Promise<void> {
  const rules = rulesOf(table, binder);
  for (let i = 0; i < table.def.columns.length; i++) {
    if (given.has(i)) continue;
    const column = table.def.columns[i]!;
    if (column.identity !== null) {
      const value = catalog.nextval(`${table.def.name}_${column.name}_seq`);
      row[i] = column.type.id === TypeId.bigint ? value : Number(value);
      continue;
    }
    const expr = rules.defaults[i];
    if (expr !== undefined) {
      row[i] = isPlainExpr(expr) ? evaluateNow(expr, [], ctx) : await evaluate(expr, [], ctx);
    }
  }
}

/** Throws 23514 when `row` makes a CHECK constraint of `table` false. */
export async function checkRow(
  table: Table,
  binder: Binder,
  ctx: ExecContext,
  row: SqlValue[],
): Promise<void> {
  for (const check of rulesOf(table, binder).checks) {
    if (
      (isPlainExpr(check.expr)
        ? evaluateNow(check.expr, row, ctx)
        : await evaluate(check.expr, row, ctx)) === false
    ) {
      throw new ExoError(
        "23514",
        `new row for relation "${table.def.name}" violates check constraint "${check.name}"`,
      );
    }
  }
}
