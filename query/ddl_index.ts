/**
 * CREATE [UNIQUE] INDEX [IF NOT EXISTS] and DROP INDEX [IF EXISTS], with PostgreSQL's default
 * names (`<table>_<columns>_idx`, numbered on collision) and errors.
 *
 * Rules:
 * 1. Index names share the relation namespace (tables, indexes, primary key constraints).
 * 2. An index that implements a constraint (PRIMARY KEY, UNIQUE constraint) cannot be dropped
 *    with DROP INDEX (2BP01), as in PostgreSQL.
 */
import type { Catalog } from "../dbengine/catalog.ts";
import type { Transaction } from "../dbengine/txn.ts";
import { BindError } from "./binder.ts";
import type { Statement } from "./sql_ast.ts";

type Notice = { code: string; message: string };

/** Runs CREATE INDEX; returns its command tag and notices. */
export async function createIndex(
  statement: Extract<Statement, { kind: "createIndex" }>,
  catalog: Catalog,
  txn: Transaction,
  snapshot: number,
): Promise<{ tag: string; notices: Notice[] }> {
  const def = catalog.tableDef(statement.table, txn, snapshot);
  if (def === null) {
    throw new BindError("42P01", `relation "${statement.table}" does not exist`, statement.offset);
  }
  const columns = statement.columns.map((c) => {
    const column = def.columns.findIndex((d) => d.name === c.name && !d.dropped);
    if (column < 0) {
      throw new BindError("42703", `column "${c.name}" does not exist`, statement.offset);
    }
    return { column, descending: c.descending };
  });
  const taken = (name: string) =>
    catalog.tableDef(name, txn, snapshot) !== null ||
    catalog.indexOwner(name, txn, snapshot) !== null;
  let name = statement.name;
  if (name === undefined) {
    const base = `${def.name}_${statement.columns.map((c) => c.name).join("_")}_idx`;
    name = base;
    for (let n = 1; taken(name); n++) name = `${base}${n}`;
  } else if (statement.ifNotExists && taken(name)) {
    return {
      tag: "CREATE INDEX",
      notices: [{ code: "42P07", message: `relation "${name}" already exists, skipping` }],
    };
  }
  await catalog.createIndex(txn, snapshot, def.name, { name, columns, unique: statement.unique });
  return { tag: "CREATE INDEX", notices: [] };
}

/** Runs DROP INDEX; returns its notices. */
export async function dropIndexes(
  statement: Extract<Statement, { kind: "dropIndex" }>,
  catalog: Catalog,
  txn: Transaction,
  snapshot: number,
): Promise<Notice[]> {
  const notices: Notice[] = [];
  for (const name of statement.names) {
    const owner = catalog.indexOwner(name, txn, snapshot);
    if (owner === null) {
      if (catalog.tableDef(name, txn, snapshot) !== null) {
        throw new BindError("42809", `"${name}" is not an index`, statement.offset);
      }
      if (!statement.ifExists) {
        throw new BindError("42704", `index "${name}" does not exist`, statement.offset);
      }
      notices.push({ code: "00000", message: `index "${name}" does not exist, skipping` });
      continue;
    }
    if (
      owner.primaryKeyName === name || owner.indexes.some((i) => i.name === name && i.constraint)
    ) {
      throw new BindError(
        "2BP01",
        `cannot drop index ${name} because constraint ${name} on table ${owner.name} requires it`,
        statement.offset,
      );
    }
    await catalog.dropIndex(txn, owner.name, name);
  }
  return notices;
}
