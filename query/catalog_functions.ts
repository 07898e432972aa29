/**
 * Functions clients call about the catalog and the session (psql's describe queries, drivers'
 * startup queries, pgbench's checks): pg_get_userbyid, pg_table_is_visible, format_type,
 * pg_get_indexdef / constraintdef / expr, pg_relation_size and friends, current_setting,
 * current_user, pg_backend_pid, array helpers. Results follow PostgreSQL's text formats. They
 * read the statement's SessionView (CallContext.session); without one they fail with XX000.
 */
import type { TableDef } from "../dbengine/table.ts";
import { type SqlValue, TypeId } from "../dbengine/types.ts";
import {
  type CatalogModel,
  catalogModel,
  databaseOid,
  namespaceOid,
  type RelationEntry,
} from "./catalog_model.ts";
import {
  type CallContext,
  define as defineFunction,
  type ResolvedFunction,
  type SessionView,
} from "./functions.ts";
import { DataError, formatValue } from "./pg_text.ts";
import { formatType, quoteIdent } from "./reg_types.ts";
import { parseSql } from "./sql_parser.ts";
import { resolveTypeName } from "./binder.ts";
import { checkDefinition } from "./check_deparse.ts";
import type { AstExpr } from "./sql_ast.ts";
import {
  arrayOf,
  isUnknown,
  QueryTypeId,
  type SqlType,
  storable,
  t,
  typeOid as typeOidOf,
} from "./sql_types.ts";

function session(ctx: CallContext): SessionView {
  if (ctx.session === undefined) throw new DataError("XX000", "no SQL session for this call");
  return ctx.session;
}

function model(ctx: CallContext): CatalogModel {
  return catalogModel(session(ctx));
}

/** Defines `name` for the arities in `signatures` (argument types to cast to). */
function fixed(
  names: string | string[],
  signatures: SqlType[][],
  result: SqlType,
  fn: ResolvedFunction["fn"],
  strict = true,
): void {
  defineFunction(names, (types) => {
    const args = signatures.find((s) => s.length === types.length);
    return args === undefined ? undefined : { args, result, strict, fn };
  });
}

// ------------------------------------------------------------------ session

fixed(
  ["current_user", "session_user", "user", "current_role"],
  [[]],
  t.name,
  (_a, ctx) => session(ctx).user,
  false,
);
fixed(
  ["current_database", "current_catalog"],
  [[]],
  t.name,
  (_a, ctx) => session(ctx).database,
  false,
);
fixed("pg_backend_pid", [[]], t.int4, (_a, ctx) => session(ctx).backendPid, false);
fixed("current_schema", [[]], t.name, () => "public", false);
fixed(
  "current_schemas",
  [[t.bool]],
  arrayOf(t.name),
  ([implicit]) => (implicit ? ["pg_catalog", "public"] : ["public"]) as unknown as SqlValue,
);
fixed("pg_is_in_recovery", [[]], t.bool, () => false, false);
fixed("inet_server_addr", [[]], t.text, (_a, ctx) => session(ctx).serverAddress, false);
fixed("inet_server_port", [[]], t.int4, (_a, ctx) => session(ctx).serverPort, false);

/** PostgreSQL's spelling of setting names in pg_settings and SHOW ALL. */
export const settingDisplayNames: Record<string, string> = {
  datestyle: "DateStyle",
  intervalstyle: "IntervalStyle",
  timezone: "TimeZone",
};

fixed("current_setting", [[t.text], [t.text, t.bool]], t.text, ([name, missingOk], ctx) => {
  const value = session(ctx).settings.get((name as string).toLowerCase());
  if (value !== undefined) return value;
  if (missingOk === true) return null;
  throw new DataError("42704", `unrecognized configuration parameter "${name}"`);
}, false);
fixed("set_config", [[t.text, t.text, t.bool]], t.text, ([name, value], ctx) => {
  session(ctx).settings.set((name as string).toLowerCase(), value as string);
  return value ?? null;
});

// ------------------------------------------------------------------ roles and visibility

fixed("pg_get_userbyid", [[t.oid]], t.name, ([oid], ctx) => {
  const role = model(ctx).roles.find((r) => r.oid === oid);
  return role?.name ?? `unknown (OID=${oid})`;
});
for (const name of ["pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible"]) {
  // The search path is pg_catalog then public: what lives there is visible (NULL: no object).
  fixed(
    name,
    [[t.oid]],
    t.bool,
    ([oid], ctx) => {
      if (name === "pg_type_is_visible") {
        return model(ctx).typesByOid.has(oid as number) ? true : null;
      }
      if (name === "pg_function_is_visible") return true;
      const relation = model(ctx).byOid.get(oid as number);
      if (relation === undefined) return null;
      return relation.namespace === namespaceOid.pgCatalog ||
        relation.namespace === namespaceOid.public;
    },
  );
}
// A single superuser role: every privilege is held.
for (
  const name of [
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "has_column_privilege",
    "has_sequence_privilege",
    "has_function_privilege",
    "has_any_column_privilege",
  ]
) {
  defineFunction(name, (types) =>
    types.length >= 2 && types.length <= 4
      ? {
        args: types.map((type) => (isUnknown(type) ? t.text : type)),
        result: t.bool,
        strict: true,
        fn: () => true,
      }
      : undefined);
}
fixed(
  "pg_relation_is_publishable",
  [[t.regclass]],
  t.bool,
  ([oid], ctx) => model(ctx).byOid.get(oid as number)?.kind === "r",
);
fixed("pg_get_statisticsobjdef_columns", [[t.oid]], t.text, () => null);
fixed(["pg_get_function_result", "pg_get_function_arguments"], [[t.oid]], t.text, () => null);
fixed("obj_description", [[t.oid], [t.oid, t.name]], t.text, ([oid, catalog], ctx) => {
  const classOid = catalog === undefined
    ? undefined
    : model(ctx).relations.find((r) => r.name === catalog && r.namespace === namespaceOid.pgCatalog)
      ?.oid;
  if (catalog !== undefined && classOid === undefined) return null;
  return model(ctx).descriptions.find((d) =>
    d.objoid === oid && d.objsubid === 0 && (classOid === undefined || d.classoid === classOid)
  )?.description ?? null;
});
fixed("shobj_description", [[t.oid, t.name]], t.text, () => null);
fixed("col_description", [[t.oid, t.int4]], t.text, () => null);
fixed(
  "pg_encoding_to_char",
  [[t.int4]],
  t.name,
  ([code]) => code === 6 ? "UTF8" : code === 0 ? "SQL_ASCII" : "",
);
fixed(
  "pg_char_to_encoding",
  [[t.name]],
  t.int4,
  ([name]) =>
    /^utf-?8$/i.test(name as string) ? 6 : (name as string).toUpperCase() === "SQL_ASCII" ? 0 : -1,
);
fixed("quote_ident", [[t.text]], t.text, ([name]) => quoteIdent(name as string));
fixed(
  "format_type",
  [[t.oid, t.int4]],
  t.text,
  ([oid, typmod]) =>
    oid === null ? null : formatType(oid as number, (typmod as number | null) ?? -1),
  false,
);
fixed("pg_get_serial_sequence", [[t.text, t.text]], t.text, ([table, column], ctx) => {
  const relation = model(ctx).relations.find((r) =>
    r.kind === "S" && r.table?.name === table &&
    r.table?.columns[r.sequenceColumn!]?.name === column
  );
  return relation === undefined ? null : `public.${quoteIdent(relation.name)}`;
});

// ------------------------------------------------------------------ definitions

/** pg_get_indexdef: CREATE [UNIQUE] INDEX name ON table USING btree (columns). */
export function indexDefinition(relation: RelationEntry, column: number, pretty: boolean): string {
  const table = relation.table!;
  const index = relation.index!;
  const names = index.columns.map((c) =>
    quoteIdent(table.columns[c.column]!.name) + (c.descending ? " DESC" : "")
  );
  if (column > 0) return names[column - 1] ?? "";
  const on = pretty ? quoteIdent(table.name) : `public.${quoteIdent(table.name)}`;
  return `CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${
    quoteIdent(relation.name)
  } ON ${on} USING btree (${names.join(", ")})`;
}

fixed(
  "pg_get_indexdef",
  [[t.oid], [t.oid, t.int4, t.bool]],
  t.text,
  ([oid, column, pretty], ctx) => {
    const relation = model(ctx).byOid.get(oid as number);
    if (relation?.index === undefined) return null;
    return indexDefinition(relation, (column as number | undefined) ?? 0, pretty === true);
  },
);

fixed("pg_get_constraintdef", [[t.oid], [t.oid, t.bool]], t.text, ([oid, pretty], ctx) => {
  const constraint = model(ctx).constraints.find((c) => c.oid === oid);
  if (constraint === undefined) return null;
  const columns = constraint.columns.map((c) => quoteIdent(constraint.table.columns[c]!.name));
  switch (constraint.kind) {
    case "p":
      return `PRIMARY KEY (${columns.join(", ")})`;
    case "u":
      return `UNIQUE (${columns.join(", ")})`;
    case "c":
      return checkDefinition(session(ctx), constraint.table, constraint.checkSql!, pretty === true);
  }
});

/** The type oid of a stored column. */
export function columnTypeOid(table: TableDef, position: number): number {
  const type = table.columns[position]!.type;
  return typeOidOf({ id: type.id, typmod: type.typmod });
}

/**
 * A column default as pg_get_expr prints it. ExoDB keeps the DEFAULT's SQL text; literals are
 * printed as PostgreSQL prints the folded constant (`'x'::text`, `0`, `'-1'::integer`), calls
 * in lower case (`now()`), anything else as written.
 */
export function defaultExpression(table: TableDef, position: number): string | null {
  const column = table.columns[position]!;
  if (column.serial === true) {
    return `nextval('${quoteIdent(`${table.name}_${column.name}_seq`)}'::regclass)`;
  }
  if (column.defaultSql === null) return null;
  let ast: AstExpr;
  try {
    const statement = parseSql(`SELECT ${column.defaultSql}`)[0]!.statement;
    if (statement.kind !== "select" || statement.body.kind !== "core") return column.defaultSql;
    ast = statement.body.targets[0]!.expr;
  } catch {
    return column.defaultSql;
  }
  const typeText = formatType(columnTypeOid(table, position), -1);
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  switch (ast.kind) {
    case "string":
      // An untyped literal becomes a constant of the column's type.
      if (column.type.id === TypeId.integer && /^\s*-?\d+\s*$/.test(ast.value)) {
        return numberLiteral(ast.value.trim());
      }
      if (column.type.id === TypeId.boolean && /^\s*(t|true|f|false)\s*$/i.test(ast.value)) {
        return /^\s*t/i.test(ast.value) ? "true" : "false";
      }
      return `${quote(ast.value)}::${typeText}`;
    case "number":
      // The literal keeps its own type; the implicit cast to the column's type is not printed.
      return numberLiteral(ast.text);
    case "cast":
      if (ast.arg.kind === "number" || ast.arg.kind === "string") {
        const value = ast.arg.kind === "number" ? ast.arg.text : ast.arg.value;
        return `${quote(value)}::${formatType(typeOidOf(resolveTypeName(ast.type)), -1)}`;
      }
      return column.defaultSql;
    case "bool":
      return ast.value ? "true" : "false";
    case "null":
      return "NULL";
    case "call":
      if (ast.args.length === 0 && !ast.star) {
        const name = ast.name.toLowerCase();
        if (["current_timestamp", "current_date", "localtimestamp"].includes(name)) {
          return name.toUpperCase();
        }
        if (name === "current_user" || name === "session_user") return "CURRENT_USER";
        return `${name}()`;
      }
      return column.defaultSql;
    default:
      return column.defaultSql;
  }
}

/** A numeric literal as ruleutils prints the constant: int4 bare, others labelled unless float-like. */
function numberLiteral(text: string): string {
  const negative = text.startsWith("-");
  if (/^-?\d+$/.test(text)) {
    const value = BigInt(text);
    if (value >= -2147483648n && value <= 2147483647n) {
      return negative ? `'${text}'::integer` : text;
    }
    const type = value >= -(2n ** 63n) && value < 2n ** 63n ? "bigint" : "numeric";
    return `'${text}'::${type}`;
  }
  return negative ? `'${text}'::numeric` : text;
}

fixed("pg_get_expr", [[t.text, t.oid], [t.text, t.oid, t.bool]], t.text, ([text, relid], ctx) => {
  // adbin holds "default:<attnum>" references into the live catalog.
  const match = /^default:(\d+)$/.exec(text as string);
  if (match === null) return text ?? null;
  const relation = model(ctx).byOid.get(relid as number);
  if (relation?.table === undefined) return null;
  return defaultExpression(relation.table, Number(match[1]) - 1);
});

// ------------------------------------------------------------------ sizes

/** Bytes used by the relation's own tree (block count × block size). */
export function relationSizeBytes(view: SessionView, relation: RelationEntry | undefined): bigint {
  if (relation?.table === undefined) return 0n;
  const blockBytes = BigInt(view.catalog.storage.store.blockSizeBytes);
  const handle = view.catalog.handle(relation.table);
  const trees = handle.trees();
  if (relation.kind === "r") return BigInt(trees[0]!.check().blocks.size) * blockBytes;
  if (relation.kind === "i" && relation.index?.treeId !== undefined) {
    const tree = trees.find((tree) => tree.treeId === relation.index!.treeId);
    return tree === undefined ? 0n : BigInt(tree.check().blocks.size) * blockBytes;
  }
  // The primary key is the clustered table tree itself: no separate storage.
  return 0n;
}

function indexesSizeBytes(view: SessionView, m: CatalogModel, tableOid: number): bigint {
  let total = 0n;
  for (const r of m.relations) {
    if (r.kind === "i" && r.table?.id === tableOid) total += relationSizeBytes(view, r);
  }
  return total;
}

fixed(["pg_relation_size", "pg_table_size"], [[t.regclass], [t.regclass, t.text]], t.int8, (
  [oid, fork],
  ctx,
) => {
  const view = session(ctx);
  const relation = model(ctx).byOid.get(oid as number);
  if (relation === undefined) return null;
  if (fork !== undefined && fork !== "main") return 0n;
  return relationSizeBytes(view, relation);
});
defineFunction("pg_database_size", (types) =>
  types.length === 1
    ? {
      args: [types[0]!.id === QueryTypeId.oid ? t.oid : t.name],
      result: t.int8,
      strict: true,
      fn: ([database], ctx) => {
        const view = session(ctx);
        if (database !== view.database && database !== databaseOid) {
          throw new DataError("3D000", `database "${database}" does not exist`);
        }
        // The one database: every table's and secondary index's tree.
        let total = 0n;
        for (const r of model(ctx).relations) {
          if (r.kind === "r" || (r.kind === "i" && r.index?.treeId !== undefined)) {
            total += relationSizeBytes(view, r);
          }
        }
        return total;
      },
    }
    : undefined);
fixed(
  "pg_indexes_size",
  [[t.regclass]],
  t.int8,
  ([oid], ctx) => indexesSizeBytes(session(ctx), model(ctx), oid as number),
);
fixed("pg_total_relation_size", [[t.regclass]], t.int8, ([oid], ctx) => {
  const view = session(ctx);
  const m = model(ctx);
  const relation = m.byOid.get(oid as number);
  if (relation === undefined) return null;
  const own = relationSizeBytes(view, relation);
  return relation.kind === "r" ? own + indexesSizeBytes(view, m, relation.oid) : own;
});

/** pg_size_pretty: bytes below 10 kB, then kB, MB, GB, TB, PB, rounding half away from zero. */
export function sizePretty(bytes: bigint): string {
  const units = ["kB", "MB", "GB", "TB", "PB"];
  const limit = 10n * 1024n;
  const abs = (n: bigint) => (n < 0n ? -n : n);
  if (abs(bytes) < limit) return `${bytes} bytes`;
  let size = bytes / 512n; // one extra bit for rounding
  if (bytes < 0n && bytes % 512n !== 0n) size = bytes >> 9n;
  for (let i = 0; i < units.length; i++) {
    if (abs(size) < limit * 2n - 1n || i === units.length - 1) {
      const half = (size + (size < 0n ? -1n : 1n)) / 2n;
      return `${half} ${units[i]}`;
    }
    size = size >> 10n;
  }
  return `${bytes} bytes`;
}

defineFunction("pg_size_pretty", (types) =>
  types.length === 1
    ? {
      args: [types[0]!.id === TypeId.numeric ? t.numeric : t.int8],
      result: t.text,
      strict: true,
      fn: ([v]) => sizePretty(typeof v === "bigint" ? v : BigInt(String(v).split(".")[0]!)),
    }
    : undefined);

// ------------------------------------------------------------------ arrays

function arrayArg(types: SqlType[], arity: number): SqlType | undefined {
  if (types.length !== arity) return undefined;
  const first = types[0]!;
  return first.id === 100 ? first : undefined;
}

defineFunction("array_to_string", (types) => {
  const array = types.length === 2 || types.length === 3 ? types[0] : undefined;
  if (array === undefined || (array.id !== 100 && !isUnknown(array))) return undefined;
  const element = array.element ?? t.text;
  return {
    args: [array.id === 100 ? array : arrayOf(t.text), t.text, t.text].slice(0, types.length),
    result: t.text,
    strict: false,
    fn: ([values, separator, nullText]) => {
      if (values === null || separator === null) return null;
      const parts: string[] = [];
      for (const v of values as unknown as SqlValue[]) {
        if (v === null) {
          if (nullText !== undefined && nullText !== null) parts.push(nullText as string);
        } else parts.push(formatValue(v, storable(element)) ?? "");
      }
      return parts.join(separator as string);
    },
  };
});
for (const name of ["array_upper", "array_lower", "array_length"]) {
  defineFunction(name, (types) => {
    const array = arrayArg(types, 2);
    return array === undefined ? undefined : {
      args: [array, t.int4],
      result: t.int4,
      strict: true,
      fn: ([values, dimension]) => {
        const list = values as unknown as SqlValue[];
        if (dimension !== 1 || list.length === 0) return null;
        return name === "array_lower" ? 1 : list.length;
      },
    };
  });
}
defineFunction("cardinality", (types) => {
  const array = arrayArg(types, 1);
  return array === undefined ? undefined : {
    args: [array],
    result: t.int4,
    strict: true,
    fn: ([values]) => (values as unknown as SqlValue[]).length,
  };
});
defineFunction("array_position", (types) => {
  const array = arrayArg(types, 2);
  if (array === undefined) return undefined;
  const element = array.element ?? t.text;
  return {
    args: [array, element],
    result: t.int4,
    strict: false,
    fn: ([values, wanted]) => {
      if (values === null) return null;
      const index = (values as unknown as SqlValue[]).findIndex((v) =>
        v === wanted || (v !== null && wanted !== null && String(v) === String(wanted))
      );
      return index < 0 ? null : index + 1;
    },
  };
});
