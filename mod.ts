/**
 * ExoDB's public module for embedding. Later layers (SQL, the Deno.Kv-compatible API) export
 * from here; for now it offers the boot entry point and the configuration resolver.
 *
 * @module
 */
export { type Appliance, boot } from "./kernel/boot.ts";
export { type Config, configSchema, resolveConfig } from "./kernel/config.ts";
export { Logger, type LogLevel } from "./kernel/log.ts";
export { ExoError } from "./lib/errors.ts";
