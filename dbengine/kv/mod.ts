/**
 * ExoDB's Deno.Kv-compatible API: `openKv(path?)` and the classes it hands out.
 *
 * @module
 */
export { openKv } from "./open_kv.ts";
export { Kv, type KvEntryMaybe } from "./kv.ts";
export { KvU64 } from "./kv_u64.ts";
export { AtomicOperation } from "./atomic.ts";
export { type KvEntry, KvListIterator, type KvListSelector } from "./list_iterator.ts";
export type { KvKey, KvKeyPart } from "./key_codec.ts";
