/**
 * System relations: virtual, read-only relations (pg_catalog.*, information_schema.*) whose rows
 * are computed from the live catalog at the statement's snapshot and from the session. Each one
 * is a column list (PostgreSQL's names, order and types, so RowDescription's column numbers
 * match) and a row function; `defineSystemRelation` adds one (ExoDB's own exodb_stat_* views
 * plug in the same way). The binder resolves `pg_catalog.X`, unqualified `X` (pg_catalog is
 * searched first, as in PostgreSQL) and `information_schema.X` here.
 */
import type { SqlValue } from "../dbengine/types.ts";
import { TypeId } from "../dbengine/types.ts";
import {
  type CatalogModel,
  catalogModel,
  namespaceOid,
  systemRelationEntries,
} from "./catalog_model.ts";
import type { SessionView } from "./functions.ts";
import type { OutputColumn, PlanNode } from "./plan.ts";
import { QueryTypeId, type SqlType } from "./sql_types.ts";

/** A row as a record by column name; absent columns take their type's default. */
export type SystemRow = Record<string, SqlValue | SqlValue[]>;

/** A system relation's definition. */
export interface SystemRelation {
  schema: "pg_catalog" | "information_schema";
  name: string;
  /** pg_class oid (PostgreSQL's own for its catalogs). */
  oid: number;
  kind: "r" | "v";
  columns: [string, SqlType][];
  rows(view: SessionView, model: CatalogModel): SystemRow[];
}

const relations = new Map<string, SystemRelation>();

/** Registers a system relation (and lists it in pg_class / pg_attribute). */
export function defineSystemRelation(relation: SystemRelation): void {
  relations.set(`${relation.schema}.${relation.name}`, relation);
  systemRelationEntries.push({
    oid: relation.oid,
    name: relation.name,
    namespace: relation.schema === "pg_catalog"
      ? namespaceOid.pgCatalog
      : namespaceOid.informationSchema,
    kind: relation.kind,
    systemColumns: relation.columns.map(([name, type]) => ({ name, type })),
  });
}

/**
 * The system relation a FROM item names, or undefined: `schema` pg_catalog or
 * information_schema looks there only; no schema looks in pg_catalog (first on the path).
 */
export function findSystemRelation(
  schema: string | undefined,
  name: string,
): SystemRelation | undefined {
  if (schema === undefined) return relations.get(`pg_catalog.${name}`);
  if (schema === "pg_catalog" || schema === "information_schema") {
    return relations.get(`${schema}.${name}`);
  }
  return undefined;
}

function defaultValue(type: SqlType): SqlValue {
  switch (type.id) {
    case TypeId.boolean:
      return false;
    case TypeId.smallint:
    case TypeId.integer:
    case TypeId.real:
    case TypeId.double:
    case QueryTypeId.oid:
    case QueryTypeId.regclass:
    case QueryTypeId.regtype:
    case QueryTypeId.regnamespace:
      return 0;
    case TypeId.bigint:
      return 0n;
    default:
      return null;
  }
}

/** The plan node scanning `relation`. */
export function systemScan(relation: SystemRelation): PlanNode {
  const columns: OutputColumn[] = relation.columns.map(([name, type], i) => ({
    name,
    type,
    tableOid: relation.oid,
    columnNumber: i + 1,
  }));
  const defaults = relation.columns.map(([, type]) => defaultValue(type));
  return {
    kind: "system",
    columns,
    relation: `${relation.schema}.${relation.name}`,
    rows: (view) =>
      relation.rows(view, catalogModel(view)).map((record) =>
        relation.columns.map(([name], i) => {
          const value = record[name];
          return (value === undefined ? defaults[i]! : value) as SqlValue;
        })
      ),
  };
}
