/**
 * The catalog as PostgreSQL's system catalogs describe it, derived from ExoDB's live catalog at
 * a statement's snapshot: namespaces, roles, relations (tables, their primary-key and secondary
 * indexes, identity sequences, and the system relations themselves), built-in types.
 *
 * Object ids (invariants):
 * - a table's oid is its TableDef.id (what RowDescription already reports as the table oid);
 * - a secondary index's oid is its tree id; tree ids are never reused, so no two coincide;
 * - objects without a tree of their own (the primary-key index, identity sequences, constraints,
 *   defaults) get `syntheticBase + table id × 1024 + slot`, far above any tree id;
 * - built-in namespaces, roles, types and system relations keep PostgreSQL's own oids.
 * One model is built per statement (cached on its SessionView) and never changes after.
 */
import type { TableDef } from "../dbengine/table.ts";
import { TypeId } from "../dbengine/types.ts";
import type { SessionView } from "./functions.ts";
import { QueryTypeId, type SqlType, typeOid } from "./sql_types.ts";

export const namespaceOid = {
  pgCatalog: 11,
  pgToast: 99,
  public: 2200,
  informationSchema: 13165,
} as const;

export const roleOid = { bootstrap: 10, databaseOwner: 6171 } as const;
export const databaseOid = 5;
export const accessMethodOid = { heap: 2, btree: 403 } as const;
export const collationOid = { default: 100, c: 950, posix: 951 } as const;

/** pg_class oid of pg_namespace (pg_description.classoid of schema comments). */
export const namespaceClassOid = 2615;

const syntheticBase = 0x4000_0000;
const slotsPerTable = 1024;

/** Synthetic oid slots of one table: 0 primary key index, 1 pkey constraint, … */
const slot = {
  primaryKey: 0,
  primaryKeyConstraint: 1,
  /** + index position */
  uniqueConstraint: 2,
  /** + check position */
  check: 200,
  /** + column position */
  sequence: 300,
  /** + column position */
  attrdef: 600,
} as const;

export function syntheticOid(tableId: number, offset: number): number {
  return syntheticBase + tableId * slotsPerTable + offset;
}

/** One pg_class entry. */
export interface RelationEntry {
  oid: number;
  name: string;
  namespace: number;
  kind: "r" | "i" | "S" | "v";
  /** The table a user relation belongs to (itself for tables). */
  table?: TableDef;
  /** For indexes: key columns (0-based positions in table.def.columns) and flags. */
  index?: {
    columns: { column: number; descending: boolean }[];
    unique: boolean;
    primary: boolean;
    constraint: boolean;
    /** The secondary index's tree id (undefined for the clustered primary key). */
    treeId?: number;
  };
  /** For sequences: the identity column it feeds. */
  sequenceColumn?: number;
  /** For CREATE SEQUENCE sequences: start and increment. */
  sequence?: { start: bigint; increment: bigint };
  /** For system relations: their column names and types. */
  systemColumns?: { name: string; type: SqlType }[];
}

/** One pg_constraint entry. */
export interface ConstraintEntry {
  oid: number;
  name: string;
  kind: "p" | "u" | "c";
  table: TableDef;
  /** 0-based column positions (conkey − 1). */
  columns: number[];
  /** The index enforcing it (p, u). */
  indexOid: number;
  checkSql?: string;
}

/** A built-in type (pg_type row). */
export interface TypeEntry {
  oid: number;
  name: string;
  length: number;
  byValue: boolean;
  type: "b" | "p";
  category: string;
  preferred: boolean;
  element: number;
  array: number;
  io: string;
  align: string;
  storage: string;
  collation: number;
  sql: SqlType | undefined;
}

/** A model of the catalog at one snapshot. */
export interface CatalogModel {
  relations: RelationEntry[];
  byOid: Map<number, RelationEntry>;
  constraints: ConstraintEntry[];
  types: TypeEntry[];
  typesByOid: Map<number, TypeEntry>;
  namespaces: {
    oid: number;
    name: string;
    owner: number;
    /** nspacl items; null for the default (owner only). */
    acl: string[] | null;
  }[];
  /** pg_description rows (the built-in comments on the schemas). */
  descriptions: { objoid: number; classoid: number; objsubid: number; description: string }[];
  roles: { oid: number; name: string; superuser: boolean; login: boolean }[];
}

const builtinTypes: [number, string, number, boolean, string, boolean, string, string][] = [
  // oid, name, length, byValue, category, preferred, align, storage
  [16, "bool", 1, true, "B", true, "c", "p"],
  [17, "bytea", -1, false, "U", false, "i", "x"],
  [18, "char", 1, true, "Z", false, "c", "p"],
  [19, "name", 64, false, "S", false, "c", "p"],
  [20, "int8", 8, true, "N", false, "d", "p"],
  [21, "int2", 2, true, "N", false, "s", "p"],
  [23, "int4", 4, true, "N", false, "i", "p"],
  [24, "regproc", 4, true, "N", false, "i", "p"],
  [25, "text", -1, false, "S", true, "i", "x"],
  [26, "oid", 4, true, "N", true, "i", "p"],
  [700, "float4", 4, true, "N", false, "i", "p"],
  [701, "float8", 8, true, "N", true, "d", "p"],
  [705, "unknown", -2, false, "X", false, "c", "p"],
  [1042, "bpchar", -1, false, "S", false, "i", "x"],
  [1043, "varchar", -1, false, "S", false, "i", "x"],
  [1082, "date", 4, true, "D", false, "i", "p"],
  [1114, "timestamp", 8, true, "D", false, "d", "p"],
  [1184, "timestamptz", 8, true, "D", true, "d", "p"],
  [1186, "interval", 16, false, "T", true, "d", "p"],
  [1700, "numeric", -1, false, "N", false, "i", "m"],
  [2205, "regclass", 4, true, "N", false, "i", "p"],
  [2206, "regtype", 4, true, "N", false, "i", "p"],
  [2249, "record", -1, false, "P", false, "d", "x"],
  [2278, "void", 4, true, "P", false, "i", "p"],
  [4089, "regnamespace", 4, true, "N", false, "i", "p"],
];

/** Types whose I/O functions are spelled name_in / name_out. */
const underscoreIo = new Set([
  "date",
  "timestamp",
  "timestamptz",
  "interval",
  "numeric",
  "record",
  "void",
]);

function sqlTypeOfOid(oid: number): SqlType | undefined {
  const ids: number[] = [
    ...Object.values(TypeId),
    QueryTypeId.oid,
    QueryTypeId.name,
    QueryTypeId.charByte,
    QueryTypeId.regclass,
    QueryTypeId.regtype,
    QueryTypeId.regnamespace,
    QueryTypeId.regproc,
    QueryTypeId.unknown,
    QueryTypeId.record,
    QueryTypeId.void,
  ];
  for (const id of ids) {
    const type = { id, typmod: -1 } as SqlType;
    if (typeOid(type) === oid) return type;
  }
  return undefined;
}

function buildTypes(): TypeEntry[] {
  const out: TypeEntry[] = [];
  for (const [oid, name, length, byValue, category, preferred, align, storage] of builtinTypes) {
    const sql = sqlTypeOfOid(oid);
    const pseudo = category === "P" || category === "X";
    const array = pseudo || sql === undefined
      ? 0
      : typeOid({ id: QueryTypeId.array, typmod: -1, element: sql });
    const collation = name === "name"
      ? collationOid.c
      : category === "S"
      ? collationOid.default
      : 0;
    out.push({
      oid,
      name,
      length,
      byValue,
      type: pseudo ? "p" : "b",
      category,
      preferred,
      element: 0,
      array: array === 1009 && oid !== 25 ? 0 : array,
      io: underscoreIo.has(name) ? `${name}_` : name,
      align,
      storage,
      collation,
      sql,
    });
  }
  for (const base of [...out]) {
    if (base.array === 0) continue;
    out.push({
      oid: base.array,
      name: `_${base.name}`,
      length: -1,
      byValue: false,
      type: "b",
      category: "A",
      preferred: false,
      element: base.oid,
      array: 0,
      io: "array_",
      align: base.align === "d" ? "d" : "i",
      storage: "x",
      collation: base.collation,
      sql: base.sql ? { id: QueryTypeId.array, typmod: -1, element: base.sql } : undefined,
    });
  }
  return out.sort((a, b) => a.oid - b.oid);
}

const types = buildTypes();
const typesByOid = new Map(types.map((type) => [type.oid, type]));

/** System relations, registered by system_catalog.ts (schema, name, oid, kind, columns). */
export const systemRelationEntries: RelationEntry[] = [];

const models = new WeakMap<SessionView, CatalogModel>();

/** The catalog model of `view`'s snapshot (built once per statement). */
export function catalogModel(view: SessionView): CatalogModel {
  const known = models.get(view);
  if (known !== undefined) return known;
  const relations: RelationEntry[] = [...systemRelationEntries];
  const constraints: ConstraintEntry[] = [];
  for (const def of view.catalog.tables(view.txn, view.snapshot)) {
    relations.push({
      oid: def.id,
      name: def.name,
      namespace: namespaceOid.public,
      kind: "r",
      table: def,
    });
    if (def.primaryKey.length > 0) {
      const indexOid = syntheticOid(def.id, slot.primaryKey);
      relations.push({
        oid: indexOid,
        name: def.primaryKeyName,
        namespace: namespaceOid.public,
        kind: "i",
        table: def,
        index: {
          columns: def.primaryKey.map((column) => ({ column, descending: false })),
          unique: true,
          primary: true,
          constraint: true,
        },
      });
      constraints.push({
        oid: syntheticOid(def.id, slot.primaryKeyConstraint),
        name: def.primaryKeyName,
        kind: "p",
        table: def,
        columns: def.primaryKey,
        indexOid,
      });
    }
    def.indexes.forEach((index, position) => {
      relations.push({
        oid: index.treeId,
        name: index.name,
        namespace: namespaceOid.public,
        kind: "i",
        table: def,
        index: {
          columns: index.columns,
          unique: index.unique,
          primary: false,
          constraint: index.constraint === true,
          treeId: index.treeId,
        },
      });
      if (index.constraint === true) {
        constraints.push({
          oid: syntheticOid(def.id, slot.uniqueConstraint + position),
          name: index.name,
          kind: "u",
          table: def,
          columns: index.columns.map((c) => c.column),
          indexOid: index.treeId,
        });
      }
    });
    def.checks.forEach((check, position) => {
      constraints.push({
        oid: syntheticOid(def.id, slot.check + position),
        name: check.name,
        kind: "c",
        table: def,
        columns: [],
        indexOid: 0,
        checkSql: check.sql,
      });
    });
    def.columns.forEach((column, position) => {
      if (column.identity === null || column.dropped) return;
      relations.push({
        oid: syntheticOid(def.id, slot.sequence + position),
        name: `${def.name}_${column.name}_seq`,
        namespace: namespaceOid.public,
        kind: "S",
        table: def,
        sequenceColumn: position,
      });
    });
  }
  for (const sequence of view.catalog.sequences(view.txn, view.snapshot)) {
    relations.push({
      oid: sequenceOid(sequence.name),
      name: sequence.name,
      namespace: namespaceOid.public,
      kind: "S",
      sequence: { start: sequence.start, increment: sequence.increment },
    });
  }
  const model: CatalogModel = {
    relations,
    byOid: new Map(relations.map((r) => [r.oid, r])),
    constraints,
    types,
    typesByOid,
    // Everyone may use every schema (one role, no privileges checked): PostgreSQL's defaults.
    namespaces: [
      {
        oid: namespaceOid.pgCatalog,
        name: "pg_catalog",
        owner: roleOid.bootstrap,
        acl: [`${view.user}=UC/${view.user}`, `=U/${view.user}`],
      },
      { oid: namespaceOid.pgToast, name: "pg_toast", owner: roleOid.bootstrap, acl: null },
      {
        oid: namespaceOid.public,
        name: "public",
        owner: roleOid.databaseOwner,
        acl: ["pg_database_owner=UC/pg_database_owner", "=U/pg_database_owner"],
      },
      {
        oid: namespaceOid.informationSchema,
        name: "information_schema",
        owner: roleOid.bootstrap,
        acl: [`${view.user}=UC/${view.user}`, `=U/${view.user}`],
      },
    ],
    descriptions: [
      [namespaceOid.pgCatalog, "system catalog schema"],
      [namespaceOid.pgToast, "reserved schema for TOAST tables"],
      [namespaceOid.public, "standard public schema"],
    ].map(([objoid, description]) => ({
      objoid: objoid as number,
      classoid: namespaceClassOid,
      objsubid: 0,
      description: description as string,
    })),
    roles: [
      { oid: roleOid.bootstrap, name: view.user, superuser: true, login: true },
      { oid: roleOid.databaseOwner, name: "pg_database_owner", superuser: false, login: false },
    ],
  };
  models.set(view, model);
  return model;
}

/**
 * The oid of a CREATE SEQUENCE sequence (it has no tree): a 28-bit FNV-1a hash of its name in
 * the range 0x70000000–0x7fffffff, above synthetic table slots (a hash collision between two
 * sequence names is possible and would show two pg_class rows with one oid).
 */
export function sequenceOid(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return 0x7000_0000 + (hash & 0x0fff_ffff);
}

/** The oid of a column default (pg_attrdef.oid). */
export function attrdefOid(table: TableDef, position: number): number {
  return syntheticOid(table.id, slot.attrdef + position);
}

/** The built-in type of an oid. */
export function typeEntry(oid: number): TypeEntry | undefined {
  return typesByOid.get(oid);
}

/** All built-in types. */
export function builtinTypeEntries(): TypeEntry[] {
  return types;
}

/** The namespace name of an oid, or undefined. */
export function namespaceName(oid: number): string | undefined {
  for (const [name, value] of Object.entries(namespaceOid)) {
    if (value === oid) {
      return name === "pgCatalog"
        ? "pg_catalog"
        : name === "pgToast"
        ? "pg_toast"
        : name === "informationSchema"
        ? "information_schema"
        : "public";
    }
  }
  return undefined;
}

/** The namespace oid of a schema name, or undefined. */
export function namespaceOfName(name: string): number | undefined {
  switch (name) {
    case "pg_catalog":
      return namespaceOid.pgCatalog;
    case "pg_toast":
      return namespaceOid.pgToast;
    case "public":
      return namespaceOid.public;
    case "information_schema":
      return namespaceOid.informationSchema;
  }
  return undefined;
}

/** Finds a relation by (optionally qualified) name as PostgreSQL's regclass input does. */
export function relationByName(model: CatalogModel, text: string): RelationEntry | undefined {
  const parts = splitQualifiedName(text);
  if (parts === undefined) return undefined;
  const name = parts[parts.length - 1]!;
  if (parts.length > 1) {
    const namespace = namespaceOfName(parts[parts.length - 2]!);
    return model.relations.find((r) => r.namespace === namespace && r.name === name);
  }
  // Search path: pg_catalog first, then public.
  return model.relations.find((r) => r.namespace === namespaceOid.pgCatalog && r.name === name) ??
    model.relations.find((r) => r.namespace === namespaceOid.public && r.name === name);
}

/** Splits `a.b` / `"A".b` into identifiers (folded to lower case unless quoted). */
export function splitQualifiedName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    if (s[i] === '"') {
      let j = i + 1;
      let part = "";
      for (;;) {
        if (j >= s.length) return undefined;
        if (s[j] === '"') {
          if (s[j + 1] === '"') {
            part += '"';
            j += 2;
            continue;
          }
          break;
        }
        part += s[j++];
      }
      parts.push(part);
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== ".") j++;
      const part = s.slice(i, j).trim();
      if (part === "") return undefined;
      parts.push(part.toLowerCase());
      i = j;
    }
    if (i >= s.length) break;
    if (s[i] !== ".") return undefined;
    i++;
  }
  return parts.length > 0 && parts.length <= 3 ? parts : undefined;
}
