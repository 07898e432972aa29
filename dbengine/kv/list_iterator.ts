/**
 * Deno.KvListIterator: pages through a selector in batches (each batch its own snapshot, as in
 * Deno), with Deno's cursors: URL-safe base64 with padding of the boundary key's encoding after
 * the selector's common prefix (DENOKV.md §6).
 */
import { compareBytes, encodeKey, type KvKeyPart, withByte } from "./key_codec.ts";
import { kvLimits } from "./limits.ts";

/** The selector shapes of Deno.KvListSelector. */
export type KvListSelector =
  | { prefix: readonly KvKeyPart[] }
  | { prefix: readonly KvKeyPart[]; start: readonly KvKeyPart[] }
  | { prefix: readonly KvKeyPart[]; end: readonly KvKeyPart[] }
  | { start: readonly KvKeyPart[]; end: readonly KvKeyPart[] };

/** A scanned range with the prefix its cursors are relative to. */
export interface ResolvedRange {
  start: Uint8Array;
  end: Uint8Array;
  common: Uint8Array;
}

/** A list entry as handed out. */
export interface KvEntry {
  key: KvKeyPart[];
  value: unknown;
  versionstamp: string;
}

/** What the iterator needs from the Kv handle: one batch read of a resolved selector. */
export type PullBatch = (
  selector: SelectorParts,
  cursor: string | undefined,
  reverse: boolean,
  limit: number,
  consistency: unknown,
) => Promise<{ entries: PulledEntry[]; range: ResolvedRange }>;

/** An entry as read. */
export interface PulledEntry {
  entry: KvEntry;
}

/** The selector's keys, validated for shape only (keys are checked at the first read). */
export interface SelectorParts {
  prefix?: unknown;
  start?: unknown;
  end?: unknown;
}

function field(selector: object, name: string): unknown {
  return Object.hasOwn(selector, name) ? (selector as Record<string, unknown>)[name] : undefined;
}

/** `list()` options as Deno.Kv takes them. */
export interface KvListOptions {
  limit?: number;
  cursor?: string;
  reverse?: boolean;
  consistency?: string;
  batchSize?: number;
}

/**
 * Checks `list()`'s limit and batchSize as Deno does (synchronously, limit first) and returns
 * the batch size to pull: the explicit one, else the limit capped at 500, else 100.
 */
export function listBatchSize(options: KvListOptions): number {
  const limit = options.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) {
    throw new Error(`Limit must be a positive integer: received ${limit}`);
  }
  const explicitBatch = options.batchSize;
  if (explicitBatch !== undefined && (!Number.isInteger(explicitBatch) || explicitBatch <= 0)) {
    throw new Error(`batchSize must be a positive integer: received ${explicitBatch}`);
  }
  return explicitBatch ?? Math.min(limit ?? 100, 500);
}

/** Checks the selector's shape as Deno does (synchronously). */
export function selectorParts(selector: unknown): SelectorParts {
  // Object.hasOwn throws Deno's own TypeError for undefined or null.
  const prefix = field(selector as object, "prefix");
  const start = field(selector as object, "start");
  const end = field(selector as object, "end");
  if (prefix !== undefined) {
    if (start !== undefined && end !== undefined) {
      throw new TypeError(
        "Selector can not specify both 'start' and 'end' key when specifying 'prefix'",
      );
    }
    if (start !== undefined) return { prefix, start };
    if (end !== undefined) return { prefix, end };
    return { prefix };
  }
  if (start !== undefined && end !== undefined) return { start, end };
  throw new TypeError("Selector must specify either 'prefix' or both 'start' and 'end' key");
}

function startsWithStrictly(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length <= prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

function commonPrefix(a: Uint8Array, b: Uint8Array): Uint8Array {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return a.slice(0, n);
}

function checkReadKey(key: Uint8Array): void {
  if (key.length > kvLimits.readKeyBytesMax) {
    throw new TypeError(`Key too large for read (max ${kvLimits.readKeyBytesMax} bytes)`);
  }
}

/** Encodes the selector's keys into the range it reads (DENOKV.md §2 "Scanned ranges"). */
export function resolveSelector(parts: SelectorParts): ResolvedRange {
  let range: ResolvedRange;
  if (parts.prefix !== undefined) {
    const prefix = encodeKey(parts.prefix);
    let start = withByte(prefix, 0x00);
    let end = withByte(prefix, 0xff);
    if (parts.start !== undefined) {
      start = encodeKey(parts.start);
      if (!startsWithStrictly(start, prefix)) {
        throw new TypeError("Start key is not in the keyspace defined by prefix");
      }
    }
    if (parts.end !== undefined) {
      end = encodeKey(parts.end);
      if (!startsWithStrictly(end, prefix)) {
        throw new TypeError("End key is not in the keyspace defined by prefix");
      }
    }
    range = { start, end, common: prefix };
  } else {
    const start = encodeKey(parts.start);
    const end = encodeKey(parts.end);
    if (compareBytes(start, end) > 0) throw new TypeError("Start key is greater than end key");
    range = { start, end, common: commonPrefix(start, end) };
  }
  checkReadKey(range.start);
  checkReadKey(range.end);
  return range;
}

/** The range left to read after `cursor` (throws "invalid cursor" / "cursor out of bounds"). */
export function applyCursor(range: ResolvedRange, cursor: string, reverse: boolean): ResolvedRange {
  const boundary = decodeCursor(cursor);
  const key = new Uint8Array(range.common.length + boundary.length);
  key.set(range.common);
  key.set(boundary, range.common.length);
  if (reverse) {
    if (compareBytes(key, range.end) > 0) throw new TypeError("cursor out of bounds");
    return { ...range, end: key };
  }
  const start = withByte(key, 0x00);
  if (compareBytes(start, range.start) < 0) throw new TypeError("cursor out of bounds");
  return { ...range, start };
}

const cursorPattern = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

function decodeCursor(cursor: string): Uint8Array {
  if (!cursorPattern.test(cursor)) throw new TypeError("invalid cursor");
  const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The cursor naming `key` (encoded) within `range`. */
export function encodeCursor(range: ResolvedRange, key: Uint8Array): string {
  const rest = key.subarray(range.common.length);
  let binary = "";
  for (let i = 0; i < rest.length; i++) binary += String.fromCharCode(rest[i]!);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}

/** Deno.KvListIterator. */
export class KvListIterator implements AsyncIterableIterator<KvEntry> {
  readonly #selector: SelectorParts;
  readonly #pull: PullBatch;
  readonly #limit: number | undefined;
  readonly #batchSize: number;
  readonly #reverse: boolean;
  readonly #consistency: unknown;
  #cursor: string | undefined;
  #cursorGen: (() => string) | undefined;
  #entries: PulledEntry[] = [];
  #lastBatch = false;
  #done = false;
  #count = 0;

  constructor(
    selector: SelectorParts,
    pull: PullBatch,
    options: {
      limit: number | undefined;
      batchSize: number;
      cursor: string | undefined;
      reverse: boolean;
      consistency: unknown;
    },
  ) {
    this.#selector = selector;
    this.#pull = pull;
    this.#limit = options.limit;
    this.#batchSize = options.batchSize;
    this.#cursor = options.cursor === "" ? undefined : options.cursor;
    const given = options.cursor;
    if (given) this.#cursorGen = () => given; // Deno hands a given cursor back before next()
    this.#reverse = options.reverse;
    this.#consistency = options.consistency;
  }

  /** The cursor after the last yielded entry ("" once exhausted). */
  get cursor(): string {
    if (this.#cursorGen === undefined) {
      throw new Error("Cannot get cursor before first iteration");
    }
    return this.#cursorGen();
  }

  async next(): Promise<IteratorResult<KvEntry, undefined>> {
    if (this.#done || (this.#limit !== undefined && this.#count >= this.#limit)) {
      return { done: true, value: undefined };
    }
    if (this.#entries.length === 0 && !this.#lastBatch) {
      // A boundary at the common prefix itself has the empty cursor: it still bounds the next
      // batch (only an empty cursor *option* means "no cursor").
      const cursor = this.#cursorGen !== undefined ? this.#cursorGen() : undefined;
      const { entries, range } = await this.#pull(
        this.#selector,
        cursor,
        this.#reverse,
        this.#batchSize,
        this.#consistency,
      );
      entries.reverse();
      this.#entries = entries;
      if (entries.length < this.#batchSize) this.#lastBatch = true;
      this.#range = range;
    }
    const pulled = this.#entries.pop();
    if (pulled === undefined) {
      this.#done = true;
      this.#cursorGen = () => "";
      return { done: true, value: undefined };
    }
    const range = this.#range!;
    // As in Deno, the cursor is computed when asked, from the entry's key array as it is then
    // (re-encoded: a negative NaN's cursor is the positive NaN's).
    const entry = pulled.entry;
    this.#cursorGen = () => encodeCursor(range, encodeKey(entry.key));
    this.#count++;
    return { done: false, value: pulled.entry };
  }

  #range: ResolvedRange | undefined;

  [Symbol.asyncIterator](): AsyncIterableIterator<KvEntry> {
    return this;
  }

  get [Symbol.toStringTag](): string {
    return "Deno.KvListIterator";
  }
}
