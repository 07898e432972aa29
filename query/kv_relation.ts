/**
 * `exodb_kv` (in pg_catalog, so unqualified `exodb_kv` resolves): a read-only view of the data
 * that ExoDB's Deno.Kv-compatible API (dbengine/kv/) stores in this data directory, one row per
 * live entry, in key order.
 */
import { kvSqlRows } from "../dbengine/kv/sql_rows.ts";
import { t } from "./sql_types.ts";
import { defineSystemRelation } from "./system_catalog.ts";

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const postgresEpochMs = 946_684_800_000;

defineSystemRelation({
  schema: "pg_catalog",
  name: "exodb_kv",
  oid: 16_001, // below PostgreSQL's FirstNormalObjectId (16384), clear of its own catalogs
  kind: "v",
  columns: [
    ["key", t.text],
    ["key_bytes", t.bytea],
    ["value_kind", t.text],
    ["value", t.text],
    ["versionstamp", t.text],
    ["expires_at", t.timestamptz],
  ],
  rows: (view) =>
    kvSqlRows(view.catalog.storage).map((row) => ({
      key: row.key,
      key_bytes: row.keyBytes,
      value_kind: row.valueKind,
      value: row.value,
      versionstamp: row.versionstamp,
      expires_at: row.expireAtMs === null ? null : (row.expireAtMs - postgresEpochMs) * 1000,
    })),
});
