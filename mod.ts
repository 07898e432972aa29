/**
 * ExoDB's public module for embedding: the boot entry point, the configuration resolver, and the
 * Deno.Kv-compatible API (`openKv(path?)`, a drop-in for `Deno.openKv`).
 *
 * @module
 */
export { type Appliance, boot } from "./kernel/boot.ts";
export { type Config, configSchema, resolveConfig } from "./kernel/config.ts";
export { Logger, type LogLevel } from "./kernel/log.ts";
export {
  type KvConnectOptions,
  type KvConnectServer,
  serveKvConnect,
} from "./kernel/kv_connect.ts";
export { ExoError } from "./lib/errors.ts";
export {
  AtomicOperation,
  Kv,
  type KvEntry,
  type KvEntryMaybe,
  type KvKey,
  type KvKeyPart,
  KvListIterator,
  type KvListSelector,
  KvU64,
  openKv,
} from "./dbengine/kv/mod.ts";
