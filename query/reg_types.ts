/**
 * oid and the reg* types. Values are oids held as JS numbers (regproc holds the function's name:
 * ExoDB has no pg_proc). Input ('t'::regclass, 'integer'::regtype) looks names up in the catalog
 * model; output prints names (unqualified: every relation is visible on the search path) and a
 * bare number for an oid nothing has. Casts between oids and integers keep the number.
 */
import { TypeId } from "../dbengine/types.ts";
import {
  builtinTypeEntries,
  type CatalogModel,
  catalogModel,
  namespaceName,
  namespaceOfName,
  relationByName,
  splitQualifiedName,
  typeEntry,
} from "./catalog_model.ts";
import type { SessionView } from "./functions.ts";
import { DataError } from "./pg_text.ts";
import type { Expr } from "./plan.ts";
import { isOidFamily, isUnknown, QueryTypeId, type SqlType, t, typeName } from "./sql_types.ts";
import type { SqlValue } from "../dbengine/types.ts";

/** PostgreSQL's quote_ident: quotes unless a lower-case identifier that is not reserved. */
export function quoteIdent(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !reservedForQuoting.has(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

const reservedForQuoting = new Set([
  "all",
  "analyse",
  "analyze",
  "and",
  "any",
  "array",
  "as",
  "asc",
  "asymmetric",
  "both",
  "case",
  "cast",
  "check",
  "collate",
  "column",
  "constraint",
  "create",
  "current_catalog",
  "current_date",
  "current_role",
  "current_time",
  "current_timestamp",
  "current_user",
  "default",
  "deferrable",
  "desc",
  "distinct",
  "do",
  "else",
  "end",
  "except",
  "false",
  "fetch",
  "for",
  "foreign",
  "from",
  "grant",
  "group",
  "having",
  "in",
  "initially",
  "intersect",
  "into",
  "lateral",
  "leading",
  "limit",
  "localtime",
  "localtimestamp",
  "not",
  "null",
  "offset",
  "on",
  "only",
  "or",
  "order",
  "placing",
  "primary",
  "references",
  "returning",
  "select",
  "session_user",
  "some",
  "symmetric",
  "table",
  "then",
  "to",
  "trailing",
  "true",
  "union",
  "unique",
  "user",
  "using",
  "variadic",
  "when",
  "where",
  "window",
  "with",
]);

/** format_type(oid, typmod): PostgreSQL's SQL spelling of a type. */
export function formatType(oid: number, typmod: number): string {
  const entry = typeEntry(oid);
  if (entry === undefined) return "???";
  if (entry.category === "A") {
    const element = typeEntry(entry.element);
    return `${element === undefined ? "???" : formatType(element.oid, typmod)}[]`;
  }
  if (oid === 1042 && typmod < 0) return "bpchar";
  if (oid === 18) return '"char"';
  if (entry.sql === undefined) return entry.name;
  return typeName({ ...entry.sql, typmod: typmod ?? -1 });
}

/** The oid of a type name as regtype input reads it ('integer', 'int4', 'character varying'). */
export function typeOidOfName(text: string): number | undefined {
  let name = text.trim().toLowerCase().replace(/^pg_catalog\./, "");
  let array = false;
  if (name.endsWith("[]")) {
    array = true;
    name = name.slice(0, -2);
  }
  const aliases: Record<string, string> = {
    integer: "int4",
    int: "int4",
    smallint: "int2",
    bigint: "int8",
    real: "float4",
    "double precision": "float8",
    boolean: "bool",
    "character varying": "varchar",
    character: "bpchar",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    decimal: "numeric",
    '"char"': "char",
  };
  const canonical = aliases[name] ?? name;
  const entry = builtinTypeEntries().find((e) => e.name === canonical && e.category !== "A");
  if (entry === undefined) return undefined;
  return array ? (entry.array || undefined) : entry.oid;
}

/** The text output of an oid-family value. */
export function regOutput(type: SqlType, value: SqlValue, model: CatalogModel | undefined): string {
  if (type.id === QueryTypeId.regproc) return String(value);
  const oid = Number(value);
  if (type.id === QueryTypeId.oid) return String(oid);
  if (oid === 0) return "-"; // InvalidOid prints as "-" in every reg* type
  if (model === undefined) return String(oid);
  switch (type.id) {
    case QueryTypeId.regclass: {
      const relation = model.byOid.get(oid);
      return relation === undefined ? String(oid) : quoteIdent(relation.name);
    }
    case QueryTypeId.regtype:
      // regtypeout gives no typmod: character, where format_type(1042, -1) says bpchar.
      if (oid === 1042) return "character";
      return typeEntry(oid) === undefined ? String(oid) : formatType(oid, -1);
    case QueryTypeId.regnamespace: {
      const name = namespaceName(oid);
      return name === undefined ? String(oid) : quoteIdent(name);
    }
  }
  return String(oid);
}

/** Parses text as a value of an oid-family type (names looked up in `model`). */
export function regInput(type: SqlType, text: string, model: () => CatalogModel): SqlValue {
  const trimmed = text.trim();
  if (type.id === QueryTypeId.regproc) return trimmed;
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n > 0xffffffff) {
      throw new DataError("22003", `value "${text}" is out of range for type oid`);
    }
    return n;
  }
  if (type.id === QueryTypeId.oid) {
    throw new DataError("22P02", `invalid input syntax for type oid: "${text}"`);
  }
  if (trimmed === "-") return 0;
  switch (type.id) {
    case QueryTypeId.regclass: {
      const relation = relationByName(model(), trimmed);
      if (relation === undefined) {
        if (splitQualifiedName(trimmed) === undefined) {
          throw new DataError("42602", `invalid name syntax`);
        }
        throw new DataError("42P01", `relation "${trimmed}" does not exist`);
      }
      return relation.oid;
    }
    case QueryTypeId.regtype: {
      const oid = typeOidOfName(trimmed);
      if (oid === undefined) throw new DataError("42704", `type "${trimmed}" does not exist`);
      return oid;
    }
    case QueryTypeId.regnamespace: {
      const parts = splitQualifiedName(trimmed);
      const oid = parts?.length === 1 ? namespaceOfName(parts[0]!) : undefined;
      if (oid === undefined) throw new DataError("3F000", `schema "${trimmed}" does not exist`);
      return oid;
    }
  }
  return Number(trimmed);
}

/** A view holding only the catalog snapshot (bind-time name lookups). */
export type BindCatalog = Pick<SessionView, "catalog" | "txn" | "snapshot">;

/**
 * Coerces `expr` to `target` when either side is oid-family; undefined otherwise (the caller's
 * general rules apply). `bindCatalog` serves literals resolved while binding.
 */
export function oidCoercion(
  expr: Expr,
  target: SqlType,
  bindCatalog: BindCatalog,
): Expr | undefined {
  const from = expr.type;
  if (!isOidFamily(target) && !isOidFamily(from)) return undefined;
  if (from.id === target.id) return undefined;
  const bindModel = () =>
    catalogModel({
      ...bindCatalog,
      settings: new Map(),
      user: "",
      database: "",
      backendPid: 0,
      serverAddress: null,
      serverPort: null,
    });
  const call = (fn: (v: SqlValue, view: SessionView | undefined) => SqlValue): Expr => ({
    kind: "call",
    type: target,
    name: "cast",
    strict: true,
    args: [expr],
    fn: ([v], ctx) => fn(v!, ctx.session),
  });
  if (isOidFamily(target)) {
    if (
      isUnknown(from) || from.id === TypeId.text || from.id === TypeId.varchar ||
      from.id === QueryTypeId.name || from.id === TypeId.char
    ) {
      if (expr.kind === "const") {
        return {
          kind: "const",
          type: target,
          value: expr.value === null ? null : regInput(target, String(expr.value), bindModel),
        };
      }
      return call((v, view) =>
        regInput(target, String(v), () => (view ? catalogModel(view) : bindModel()))
      );
    }
    if (isOidFamily(from)) {
      return target.id === QueryTypeId.regproc || from.id === QueryTypeId.regproc
        ? call((v) => v)
        : { ...expr, type: target } as Expr;
    }
    if (from.id === TypeId.integer || from.id === TypeId.smallint || from.id === TypeId.bigint) {
      return call((v) => {
        const n = Number(v);
        if (n < -2147483648 || n > 0xffffffff) {
          throw new DataError("22003", "OID out of range");
        }
        return n < 0 ? n + 0x1_0000_0000 : n;
      });
    }
    return undefined;
  }
  // From an oid-family type.
  if (target.id === TypeId.text || target.id === TypeId.varchar || target.id === QueryTypeId.name) {
    return call((v, view) => regOutput(from, v, view ? catalogModel(view) : undefined));
  }
  if (target.id === TypeId.bigint) return call((v) => BigInt(Number(v)));
  if (target.id === TypeId.integer) return call((v) => Number(v) | 0);
  return undefined;
}

/** The type oid-family comparisons run in (oid against oid-family or integers). */
export function oidComparisonType(left: SqlType, right: SqlType): SqlType | undefined {
  const integer = (type: SqlType) =>
    type.id === TypeId.integer || type.id === TypeId.smallint || type.id === TypeId.bigint;
  if (isOidFamily(left) && (isOidFamily(right) || integer(right))) return t.oid;
  if (isOidFamily(right) && integer(left)) return t.oid;
  return undefined;
}
