/**
 * Deno KV value serialisation (DENOKV.md §3). Three stored kinds, each one tag byte in front of
 * the stored bytes:
 *
 * | tag | kind  | bytes                                                        |
 * |-----|-------|--------------------------------------------------------------|
 * | 1   | v8    | V8 structured serialisation "for storage" (header FF 10)     |
 * | 2   | u64   | 8 bytes little-endian (a top-level KvU64)                    |
 * | 3   | bytes | raw (a top-level Uint8Array, Node Buffers included)          |
 *
 * V8 serialisation uses the runtime's own serializer when Deno exposes it (the same bytes, and so
 * the same sizes and limits, as Deno KV), else node:v8 (FF 0F header; typed arrays as host
 * objects, so sizes differ slightly).
 */
import * as nodeV8 from "node:v8";
import { KvU64 } from "./kv_u64.ts";

/** Stored value kinds, as in denokv's protobuf (V8 1, LE64 2, BYTES 3). */
export const ValueKind = { v8: 1, u64: 2, bytes: 3 } as const;
export type ValueKindCode = (typeof ValueKind)[keyof typeof ValueKind];

/** A value ready to store. */
export interface EncodedValue {
  kind: ValueKindCode;
  data: Uint8Array;
}

interface V8Core {
  serialize(value: unknown, options: { forStorage: boolean }): Uint8Array;
  deserialize(bytes: Uint8Array, options: { forStorage: boolean }): unknown;
}

function runtimeCore(): V8Core | undefined {
  const deno = (globalThis as { Deno?: Record<symbol | string, unknown> }).Deno;
  const internal = deno?.internal as symbol | undefined;
  const core = internal === undefined ? undefined : (deno![internal] as { core?: V8Core })?.core;
  return typeof core?.serialize === "function" && typeof core.deserialize === "function"
    ? core
    : undefined;
}

const core = runtimeCore();
const storage = { forStorage: true };

/** V8-serialises `value`; uncloneable values throw TypeError "… could not be cloned.". */
export function serializeV8(value: unknown): Uint8Array {
  if (core !== undefined) return core.serialize(value, storage);
  try {
    return new Uint8Array(nodeV8.serialize(value));
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
}

/** Reverses {@link serializeV8}. */
export function deserializeV8(bytes: Uint8Array): unknown {
  return core !== undefined ? core.deserialize(bytes, storage) : nodeV8.deserialize(bytes);
}

/** Encodes a value by Deno's rules (throws synchronously for uncloneable values). */
export function encodeValue(value: unknown): EncodedValue {
  if (value instanceof Uint8Array) return { kind: ValueKind.bytes, data: value.slice() };
  if (value instanceof KvU64) return { kind: ValueKind.u64, data: u64Bytes(value.value) };
  return { kind: ValueKind.v8, data: serializeV8(value) };
}

/** Decodes a stored value into a fresh JS value. */
export function decodeValue(kind: number, data: Uint8Array): unknown {
  if (kind === ValueKind.bytes) return data.slice();
  if (kind === ValueKind.u64) return new KvU64(u64Of(data));
  return deserializeV8(data);
}

/** 8 bytes little-endian. */
export function u64Bytes(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

/** Reads 8 bytes little-endian. */
export function u64Of(data: Uint8Array): bigint {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0, true);
}
