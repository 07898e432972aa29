/**
 * The KV tree as rows, for the read-only SQL view `exodb_kv` (query/kv_relation.ts): read
 * straight from the server's engine at statement time. Expired entries are left out, as every
 * KV read leaves them out.
 */
import type { Storage } from "../storage.ts";
import { kvTreeId } from "./engine.ts";
import { decodeKey } from "./key_codec.ts";
import { decodeStoredRecord } from "./kv_store.ts";
import { decodeValue, ValueKind } from "./value_codec.ts";

/** One KV entry as the SQL view shows it. */
export interface KvSqlRow {
  /** The key rendered as Deno.inspect renders a KvKey, e.g. `[ "users", 1n ]`. */
  key: string;
  /** The tuple-layer encoding (its byte order is the key order). */
  keyBytes: Uint8Array;
  valueKind: "v8" | "u64" | "bytes";
  /** The value rendered by Deno.inspect on one line. */
  value: string;
  versionstamp: string;
  /** Expiry in ms since the epoch, or null. */
  expireAtMs: number | null;
}

const kindNames = {
  [ValueKind.v8]: "v8",
  [ValueKind.u64]: "u64",
  [ValueKind.bytes]: "bytes",
} as const;
const inspectOptions = { depth: 6, compact: true, breakLength: Infinity, colors: false };

/** Every live KV entry in key order (none when the data directory never held KV data). */
export function kvSqlRows(storage: Storage): KvSqlRow[] {
  const root = storage.store.meta("kvRoot");
  if (root === 0) return [];
  const tree = storage.openTree(root, kvTreeId);
  const rows: KvSqlRow[] = [];
  const now = Date.now();
  const end = Uint8Array.of(0xff); // metadata keys start with FF (kv_store.ts invariant 1)
  let cursor: Uint8Array | undefined;
  for (;;) {
    const batch = tree.batch({
      ...(cursor === undefined ? {} : { start: cursor, startInclusive: false }),
      end,
      limit: 256,
    });
    for (const entry of batch) {
      const record = decodeStoredRecord(entry.value);
      if (record.expireAtMs !== 0 && record.expireAtMs <= now) continue;
      let value: string;
      try {
        value = Deno.inspect(decodeValue(record.kind, record.data), inspectOptions);
      } catch (error) {
        value = `<undecodable: ${error instanceof Error ? error.message : error}>`;
      }
      rows.push({
        key: Deno.inspect(decodeKey(entry.key), inspectOptions),
        keyBytes: entry.key,
        valueKind: kindNames[record.kind] ?? "v8",
        value,
        versionstamp: record.versionstamp,
        expireAtMs: record.expireAtMs === 0 ? null : record.expireAtMs,
      });
    }
    if (batch.length < 256) return rows;
    cursor = batch[batch.length - 1]!.key;
  }
}
