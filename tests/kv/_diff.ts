/**
 * Differential harness: runs the same operation against Deno's built-in KV (the oracle,
 * `--unstable-kv`, ":memory:") and ExoDB's openKv, and reduces each outcome to a comparable
 * form: sync throw vs rejected promise vs value, error class and message, values in a
 * canonical text, versionstamps replaced by their rank among the versionstamps that database
 * handed out (compared by order and equality only).
 */
import { KvU64 } from "../../dbengine/kv/mod.ts";

/** Any Kv-like handle (Deno's or ExoDB's). */
// deno-lint-ignore no-explicit-any
export type AnyKv = any;

/** Tracks one database's versionstamps: each new commit's must exceed all earlier ones. */
export class Stamps {
  readonly seen: string[] = [];
  readonly #rank = new Map<string, number>();

  /** The rank of `vs`; a new one must be greater than every one seen (strictly increasing). */
  rank(vs: string, fresh: boolean): string {
    if (!/^[0-9a-f]{20}$/.test(vs)) throw new Error(`bad versionstamp ${vs}`);
    let rank = this.#rank.get(vs);
    if (rank === undefined) {
      const last = this.seen[this.seen.length - 1];
      if (last !== undefined && vs <= last) {
        throw new Error(`versionstamp ${vs} not above ${last}`);
      }
      if (!fresh) return `vs?`; // a versionstamp never returned by a commit (e.g. a sweep)
      rank = this.seen.length;
      this.seen.push(vs);
      this.#rank.set(vs, rank);
    }
    return `vs#${rank}`;
  }

  has(vs: string): boolean {
    return this.#rank.has(vs);
  }

  /** The real versionstamp of a rank, for checks. */
  byRank(rank: number): string | undefined {
    return this.seen[rank];
  }
}

/** Canonical text of a value: types that JSON loses are tagged. */
export function canon(value: unknown, stamps: Stamps, seen = new Set<unknown>()): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "string":
      // A versionstamp written into a key by commitVersionstamp(): compared by rank.
      if (/^[0-9a-f]{20}$/.test(value) && stamps.has(value)) return stamps.rank(value, false);
      return JSON.stringify(value);
    case "boolean":
      return String(value);
    case "symbol":
      return "symbol";
    case "function":
      return "function";
  }
  if (seen.has(value)) return "[cycle]";
  seen.add(value);
  try {
    if (value instanceof KvU64 || value instanceof Deno.KvU64) {
      return `u64(${(value as { value: bigint }).value})`;
    }
    if (ArrayBuffer.isView(value)) {
      return `${value.constructor.name}[${
        Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))
      }]`;
    }
    if (value instanceof Date) return `Date(${value.getTime()})`;
    if (value instanceof RegExp) return `RegExp(${value})`;
    if (value instanceof Error) return `${value.constructor.name}(${value.message})`;
    if (value instanceof Map) {
      return `Map{${
        [...value].map(([k, v]) => canon(k, stamps, seen) + "=>" + canon(v, stamps, seen))
      }}`;
    }
    if (value instanceof Set) return `Set{${[...value].map((v) => canon(v, stamps, seen))}}`;
    if (Array.isArray(value)) {
      const parts: string[] = [];
      for (let i = 0; i < value.length; i++) {
        parts.push(i in value ? canon(value[i], stamps, seen) : "<hole>");
      }
      return `[${parts.join(",")}]`;
    }
    const proto = Object.getPrototypeOf(value);
    const tag = proto === Object.prototype ? "" : proto === null ? "null-proto" : "proto?";
    const entries = Object.keys(value).map((k) => {
      const v = (value as Record<string, unknown>)[k];
      if (k === "versionstamp" && typeof v === "string") {
        return `${k}:${stamps.rank(v, false)}`;
      }
      return `${k}:${canon(v, stamps, seen)}`;
    });
    return `${tag}{${entries.join(",")}}`;
  } finally {
    seen.delete(value);
  }
}

/** An error reduced to class and message. */
export function describeError(error: unknown): string {
  if (error instanceof Deno.errors.BadResource) return `BadResource: ${error.message}`;
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `non-error ${String(error)}`;
}

/** How a call ended: sync value or throw, async value or rejection. */
export async function outcome(
  call: () => unknown,
  stamps: Stamps,
  reduce: (value: unknown) => unknown = (v) => v,
): Promise<string> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return `throws ${describeError(error)}`;
  }
  if (!(result instanceof Promise)) return `returns ${canon(reduce(result), stamps)}`;
  try {
    const value = await result;
    return `resolves ${canonResult(reduce(value), stamps)}`;
  } catch (error) {
    return `rejects ${describeError(error)}`;
  }
}

/** Canonical text of a write result (its versionstamp is a new commit's). */
function canonResult(value: unknown, stamps: Stamps): string {
  if (value !== null && typeof value === "object" && "ok" in value && "versionstamp" in value) {
    const v = value as { ok: boolean; versionstamp: string };
    return `{ok:${v.ok},versionstamp:${stamps.rank(v.versionstamp, true)}}`;
  }
  return canon(value, stamps);
}

/** A pair of handles with their stamp trackers. */
export interface Pair {
  deno: AnyKv;
  exo: AnyKv;
  denoStamps: Stamps;
  exoStamps: Stamps;
}

/** Time spent in each database's calls (for the test's summary line). */
export const timings = { denoMs: 0, exoMs: 0 };

/** Runs `op` on both and returns both outcomes. */
export async function both(
  pair: Pair,
  op: (kv: AnyKv, stamps: Stamps) => unknown,
  reduce?: (value: unknown) => unknown,
): Promise<{ deno: string; exo: string }> {
  let started = performance.now();
  const deno = await outcome(() => op(pair.deno, pair.denoStamps), pair.denoStamps, reduce);
  timings.denoMs += performance.now() - started;
  started = performance.now();
  const exo = await outcome(() => op(pair.exo, pair.exoStamps), pair.exoStamps, reduce);
  timings.exoMs += performance.now() - started;
  return { deno, exo };
}

/**
 * A cursor as compared: byte-identical text, except that a versionstamp written into a key by
 * commitVersionstamp() (different per database) is replaced by its rank.
 */
export function normCursor(cursor: string, stamps: Stamps): string {
  let binary: string;
  try {
    binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return cursor;
  }
  const found = binary.match(/[0-9a-f]{20}/g)?.filter((vs) => stamps.has(vs));
  if (found === undefined || found.length === 0) return cursor;
  for (const vs of found) binary = binary.replace(vs, `<${stamps.rank(vs, false)}>`);
  return `decoded(${JSON.stringify(binary)})`;
}

/** Lists everything, with cursors after every entry, as text. */
export async function listAll(
  kv: AnyKv,
  selector: unknown,
  options: Record<string, unknown>,
  stamps: Stamps,
): Promise<string> {
  let iterator: AnyKv;
  try {
    iterator = kv.list(selector, options);
  } catch (error) {
    return `list throws ${describeError(error)}`;
  }
  const out: string[] = [];
  try {
    iterator.cursor;
  } catch (error) {
    out.push(`cursor-before ${describeError(error)}`);
  }
  for (let i = 0; i < 5000; i++) {
    let step: IteratorResult<unknown>;
    try {
      step = await iterator.next();
    } catch (error) {
      out.push(`next rejects ${describeError(error)}`);
      break;
    }
    if (step.done) {
      out.push(`done cursor=${JSON.stringify(normCursor(iterator.cursor, stamps))}`);
      break;
    }
    out.push(`${canon(step.value, stamps)} cursor=${normCursor(iterator.cursor, stamps)}`);
  }
  return out.join("\n");
}
