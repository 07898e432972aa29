/**
 * The KV store under the Deno.Kv API: one per open engine (handles on one path in one process
 * share it). Every commit runs its checks and computes every new value synchronously, in one
 * turn of the event loop, then writes them as one unsplit page group (so commits are serialized
 * and all-or-nothing, at run time and at recovery) and waits for the log to be durable.
 *
 * Tree layout (one B+tree, tree id {@link kvTreeId}):
 *
 * | tree key                               | tree value                                        |
 * |----------------------------------------|---------------------------------------------------|
 * | encoded Deno KV key (first byte < FF)  | kind u8 ‖ versionstamp u64 BE ‖ expireAt ms u64 BE (0 = never) ‖ data |
 * | FF 01                                  | versionstamps reserved up to, u64 BE              |
 * | FF 02 ‖ readyAt ms u64 BE ‖ seq u64 BE | queued message (V8: payload, keys, backoff, attempt) |
 * | FF 03 ‖ expireAt ms u64 BE ‖ key       | empty: the expiry index                           |
 *
 * Invariants:
 * 1. No encoded KV key starts with FF, and every scanned range ends at or below FF: metadata is
 *    never listed.
 * 2. Results are handed out only once every commit they may reflect is durable (reads await
 *    the log up to the last applied commit), so nothing a crash could lose is ever observed.
 * 3. Versionstamps strictly increase by one per commit. The counter is logged ahead, as
 *    sequences are: a commit that passes the reserved value reserves 1024 more in its own
 *    group, and a reopened store continues after the reservation, so no versionstamp is ever
 *    handed out twice.
 * 4. An expired key is invisible to reads from its expiry on; the sweeper deletes it later.
 */
import type { BTree } from "../btree/btree.ts";
import type { Storage } from "../storage.ts";
import type { KvEngine } from "./engine.ts";
import { compareBytes } from "./key_codec.ts";
import { kvU64Max } from "./kv_u64.ts";
import {
  decodeValue,
  deserializeV8,
  type EncodedValue,
  serializeV8,
  u64Bytes,
  u64Of,
  ValueKind,
  type ValueKindCode,
} from "./value_codec.ts";

const headerBytes = 17;
const metaPrefix = 0xff;
const counterKey = Uint8Array.of(metaPrefix, 0x01);
const queueTag = 0x02;
/** Versionstamps reserved at a time (invariant 3). */
const versionstampReserve = 1024;
const expiryTag = 0x03;
/** Deno's default queue retry schedule, in ms. */
export const defaultBackoffMs = [100, 1000, 5000, 30000, 60000];

/** A stored entry as read. */
export interface StoredEntry {
  key: Uint8Array;
  kind: ValueKindCode;
  data: Uint8Array;
  versionstamp: string;
}

/** A check: the key's current versionstamp must equal `versionstamp` (null: must not exist). */
export interface KvCheck {
  key: Uint8Array;
  versionstamp: string | null;
}

/** One mutation of a commit. */
export interface KvMutation {
  key: Uint8Array;
  type: "set" | "delete" | "sum" | "min" | "max";
  value?: EncodedValue;
  /** Absolute expiry in ms since the epoch; 0 = never. */
  expireAtMs: number;
  /** The key's last part is the commit's versionstamp (commitVersionstamp()). */
  versionstampSuffix?: (versionstamp: string) => Uint8Array;
}

/** One enqueued message. */
export interface KvEnqueue {
  payload: Uint8Array;
  readyAtMs: number;
  keysIfUndelivered: Uint8Array[];
  backoffMs: number[] | null;
}

/** A message handed to a queue listener. */
interface QueuedMessage {
  treeKey: Uint8Array;
  payload: Uint8Array;
  keysIfUndelivered: Uint8Array[];
  backoffMs: number[] | null;
  attempt: number;
}

/** A listener registered by listenQueue. */
export interface QueueListener {
  handler: (payload: unknown) => unknown;
}

/** Watchers are told which encoded keys (as binary strings) a commit wrote. */
export type CommitListener = (written: Set<string>) => void;

interface Current {
  kind: ValueKindCode;
  data: Uint8Array;
  expireAtMs: number;
}

/** A key's state at the end of a commit (null: deleted). */
interface Final {
  key: Uint8Array;
  value: Current | null;
}

/** The binary-string form of key bytes, for maps and sets. */
export function keyString(key: Uint8Array): string {
  let out = "";
  for (let at = 0; at < key.length; at += 4096) {
    out += String.fromCharCode.apply(null, key.subarray(at, at + 4096) as unknown as number[]);
  }
  return out;
}

/** A versionstamp's 20 hex digits from the counter. */
export function versionstampHex(counter: number): string {
  return counter.toString(16).padStart(16, "0") + "0000";
}

function u64Be(view: DataView, at: number): number {
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}

function setU64Be(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes `value` (a safe integer ≥ 0) as u64 big-endian at `bytes[at..at+8)`, no DataView. */
function putU64Be(bytes: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value >>> 0;
  bytes[at] = high >>> 24;
  bytes[at + 1] = high >>> 16;
  bytes[at + 2] = high >>> 8;
  bytes[at + 3] = high;
  bytes[at + 4] = low >>> 24;
  bytes[at + 5] = low >>> 16;
  bytes[at + 6] = low >>> 8;
  bytes[at + 7] = low;
}

/** True when two byte strings are equal. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false; // keys share prefixes
  return true;
}

/** Commits with at most this many mutations find repeated keys by comparing bytes. */
const linearDedupMax = 16;

function u64BeBytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  setU64Be(new DataView(out.buffer), 0, value);
  return out;
}

function mutationError(type: string, what: "value in the database" | "operand"): TypeError {
  return new TypeError(`Failed to perform '${type}' mutation on a non-U64 ${what}`);
}

function v8Number(value: EncodedValue): number | bigint | undefined {
  if (value.kind !== ValueKind.v8) return undefined;
  const decoded = deserializeV8(value.data);
  return typeof decoded === "number" || typeof decoded === "bigint" ? decoded : undefined;
}

function typeName(value: number | bigint): string {
  return typeof value === "number" ? "Number" : "BigInt";
}

/** The value of a sum/min/max mutation over `current` (undefined: missing). Throws as Deno. */
function combine(type: "sum" | "min" | "max", current: Current | undefined, operand: EncodedValue) {
  if (type !== "sum" || operand.kind === ValueKind.u64) {
    if (operand.kind !== ValueKind.u64) throw mutationError(type, "operand");
    if (current === undefined) return operand;
    if (current.kind !== ValueKind.u64) throw mutationError(type, "value in the database");
    const a = u64Of(current.data);
    const b = u64Of(operand.data);
    const result = type === "sum"
      ? (a + b) & kvU64Max
      : type === "min"
      ? (a < b ? a : b)
      : (a > b ? a : b);
    return { kind: ValueKind.u64, data: u64Bytes(result) } as EncodedValue;
  }
  // A V8 sum (only through mutate): numbers with numbers, bigints with bigints or u64s.
  const b = v8Number(operand);
  if (b === undefined) throw new TypeError("Some of the parameters are not valid V8 values");
  if (current === undefined) return operand;
  if (current.kind === ValueKind.u64) {
    if (typeof b !== "bigint" || b < 0n || b > kvU64Max) {
      throw new TypeError(`Cannot sum KvU64 with ${typeName(b)}`);
    }
    return {
      kind: ValueKind.u64,
      data: u64Bytes((u64Of(current.data) + b) & kvU64Max),
    } as EncodedValue;
  }
  const a = v8Number({ kind: current.kind, data: current.data });
  if (a === undefined) {
    if (current.kind === ValueKind.v8) throw new TypeError("unsupported value type");
    throw mutationError(type, "value in the database");
  }
  if (typeof a !== typeof b) throw new TypeError(`Cannot sum ${typeName(a)} with ${typeName(b)}`);
  const sum = typeof a === "number" ? a + (b as number) : a + (b as bigint);
  return { kind: ValueKind.v8, data: serializeV8(sum) } as EncodedValue;
}

export class KvStore {
  readonly engine: KvEngine;
  readonly #storage: Storage;
  readonly #tree: BTree;
  #counter: number;
  /** The durable reservation: versionstamps up to it may have been handed out (invariant 3). */
  #reserved: number;
  /** Log position after the last applied commit (invariant 2). */
  #appliedLsn = 0;
  readonly #commitListeners = new Set<CommitListener>();
  readonly #queueListeners: QueueListener[] = [];
  #nextListener = 0;
  /** Tree keys (binary strings) of messages being delivered. */
  readonly #inFlight = new Set<string>();
  #queueTimer: ReturnType<typeof setTimeout> | undefined;
  #queueTimerAt = Infinity;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepAt = Infinity;
  #closed = false;
  /** False only while the expiry index is known to be empty (writes then skip old values). */
  #hasExpiries = true;
  /** Handles sharing this store. */
  handles = 0;

  constructor(engine: KvEngine) {
    this.engine = engine;
    this.#storage = engine.storage;
    this.#tree = engine.tree;
    const stored = this.#tree.get(counterKey);
    this.#counter = stored === undefined ? 0 : u64Be(new DataView(stored.buffer), 0);
    this.#reserved = this.#counter;
    this.#scheduleSweep();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once every applied commit is durable (invariant 2). */
  settled(): Promise<void> | undefined {
    const wal = this.#storage.wal;
    if (wal.flushedLsn >= this.#appliedLsn) return undefined;
    return wal.flush(this.#appliedLsn);
  }

  #decode(key: Uint8Array, value: Uint8Array, now: number): StoredEntry | undefined {
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const expireAtMs = u64Be(view, 9);
    if (expireAtMs !== 0 && expireAtMs <= now) return undefined; // invariant 4
    return {
      key,
      kind: value[0]! as ValueKindCode,
      data: value.subarray(headerBytes),
      versionstamp: versionstampHex(u64Be(view, 1)),
    };
  }

  #current(key: Uint8Array, now: number): (Current & { versionstamp: string }) | undefined {
    const value = this.#tree.get(key);
    if (value === undefined) return undefined;
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const expireAtMs = u64Be(view, 9);
    if (expireAtMs !== 0 && expireAtMs <= now) return undefined;
    return {
      kind: value[0]! as ValueKindCode,
      data: value.subarray(headerBytes),
      expireAtMs,
      versionstamp: versionstampHex(u64Be(view, 1)),
    };
  }

  /** The entry at `key`, if any (synchronous; await {@link settled} before handing it out). */
  get(key: Uint8Array): StoredEntry | undefined {
    const value = this.#tree.get(key);
    return value === undefined ? undefined : this.#decode(key, value, Date.now());
  }

  /** Up to `limit` live entries in [start, end) (reverse: from the end). */
  range(start: Uint8Array, end: Uint8Array, limit: number, reverse: boolean): StoredEntry[] {
    const out: StoredEntry[] = [];
    if (compareBytes(start, end) >= 0 || limit <= 0) return out;
    const now = Date.now();
    let cursor = reverse ? end : start;
    let inclusive = !reverse;
    for (;;) {
      const want = Math.min(limit - out.length + 8, 512);
      const batch = this.#tree.batch({
        start: cursor,
        startInclusive: inclusive,
        end: reverse ? start : end,
        endInclusive: reverse,
        reverse,
        limit: want,
      });
      for (const entry of batch) {
        const decoded = this.#decode(entry.key, entry.value, now);
        if (decoded === undefined) continue;
        out.push(decoded);
        if (out.length >= limit) return out;
      }
      if (batch.length < want) return out;
      cursor = batch[batch.length - 1]!.key;
      inclusive = false;
    }
  }

  /**
   * Runs a commit: checks, then mutations (a later one on the same key sees the earlier), then
   * enqueues. Returns the versionstamp, or null when a check failed. Throws (writing nothing)
   * when a sum/min/max cannot apply.
   */
  commit(checks: KvCheck[], mutations: KvMutation[], enqueues: KvEnqueue[]): string | null {
    const now = Date.now();
    for (const check of checks) {
      const current = this.#current(check.key, now);
      const stamp = current?.versionstamp ?? null;
      if (stamp !== check.versionstamp) return null;
    }
    const versionstamp = versionstampHex(this.#counter + 1);
    // Final state per key, computed before anything is written (all-or-nothing). A later
    // mutation of the same key replaces the earlier one's entry in place (its position stays).
    const finals: Final[] = [];
    // Repeated keys: a byte comparison against the few earlier ones, a map for many.
    const byName = mutations.length > linearDedupMax ? new Map<string, Final>() : undefined;
    for (const mutation of mutations) {
      const key = mutation.versionstampSuffix?.(versionstamp) ?? mutation.key;
      const name = byName === undefined ? undefined : keyString(key);
      let staged: Final | undefined;
      if (name !== undefined) staged = byName!.get(name);
      else {
        for (let f = 0; f < finals.length; f++) {
          if (sameBytes(finals[f]!.key, key)) {
            staged = finals[f];
            break;
          }
        }
      }
      let value: Current | null;
      if (mutation.type === "delete") {
        value = null;
      } else if (mutation.type === "set") {
        const encoded = mutation.value!;
        value = { kind: encoded.kind, data: encoded.data, expireAtMs: mutation.expireAtMs };
      } else {
        const current = staged !== undefined
          ? (staged.value ?? undefined)
          : this.#current(key, now);
        const result = combine(mutation.type, current, mutation.value!);
        value = { kind: result.kind, data: result.data, expireAtMs: 0 };
      }
      if (staged !== undefined) staged.value = value;
      else {
        const final: Final = { key, value };
        finals.push(final);
        if (name !== undefined) byName!.set(name, final);
      }
    }
    this.#counter++;
    const counter = this.#counter;
    this.#storage.store.runWhole(0, () => {
      for (const { key, value } of finals) {
        if (this.#hasExpiries) {
          // The old version's expiry index entry goes with it.
          const old = this.#tree.get(key);
          if (old !== undefined) {
            const oldExpiry = u64Be(new DataView(old.buffer, old.byteOffset, old.byteLength), 9);
            if (oldExpiry !== 0) this.#tree.delete(this.#expiryKey(oldExpiry, key));
          }
        }
        if (value === null) {
          this.#tree.delete(key);
          continue;
        }
        const record = new Uint8Array(headerBytes + value.data.length);
        record[0] = value.kind;
        putU64Be(record, 1, counter);
        putU64Be(record, 9, value.expireAtMs);
        record.set(value.data, headerBytes);
        this.#tree.put(key, record);
        if (value.expireAtMs !== 0) {
          this.#tree.put(this.#expiryKey(value.expireAtMs, key), new Uint8Array(0));
          this.#hasExpiries = true;
        }
      }
      for (let i = 0; i < enqueues.length; i++) {
        const enqueue = enqueues[i]!;
        const message: QueuedMessage = {
          treeKey: this.#queueKey(enqueue.readyAtMs, counter * 1024 + i),
          payload: enqueue.payload,
          keysIfUndelivered: enqueue.keysIfUndelivered,
          backoffMs: enqueue.backoffMs,
          attempt: 0,
        };
        this.#tree.put(message.treeKey, this.#encodeMessage(message));
      }
      this.#reserveThrough(counter);
    });
    this.#appliedLsn = this.#storage.wal.insertLsn;
    if (this.#storage.wal.usedFraction() > 0.5) this.#storage.checkpoint().catch(() => {});
    for (const { value } of finals) {
      if (value !== null && value.expireAtMs !== 0) this.#scheduleSweep(value.expireAtMs);
    }
    if (this.#commitListeners.size > 0) {
      const written = new Set<string>();
      for (const { key } of finals) written.add(keyString(key));
      const durable = this.settled();
      const notify = () => {
        for (const listener of this.#commitListeners) listener(written);
      };
      if (durable === undefined) queueMicrotask(notify);
      else durable.then(notify, () => {});
    }
    if (enqueues.length > 0) this.#wakeQueue();
    return versionstamp;
  }

  /** Inside a commit's group: makes sure `counter` is covered by the durable reservation. */
  #reserveThrough(counter: number): void {
    if (counter <= this.#reserved) return;
    this.#reserved = counter + versionstampReserve;
    this.#tree.put(counterKey, u64BeBytes(this.#reserved));
  }

  /** Registers a listener told about every commit's written keys; returns the unsubscriber. */
  onCommit(listener: CommitListener): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  #expiryKey(expireAtMs: number, key: Uint8Array): Uint8Array {
    return concat(Uint8Array.of(metaPrefix, expiryTag), u64BeBytes(expireAtMs), key);
  }

  #queueKey(readyAtMs: number, seq: number): Uint8Array {
    return concat(Uint8Array.of(metaPrefix, queueTag), u64BeBytes(readyAtMs), u64BeBytes(seq));
  }

  #encodeMessage(message: QueuedMessage): Uint8Array {
    return serializeV8({
      payload: message.payload,
      keys: message.keysIfUndelivered,
      backoff: message.backoffMs,
      attempt: message.attempt,
    });
  }

  // ---- expiry ----

  #scheduleSweep(atMs?: number): void {
    if (this.#closed) return;
    if (atMs === undefined) {
      const first = this.#tree.batch({
        start: Uint8Array.of(metaPrefix, expiryTag),
        end: Uint8Array.of(metaPrefix, expiryTag + 1),
        limit: 1,
      })[0];
      if (first === undefined) {
        this.#hasExpiries = false;
        return;
      }
      atMs = u64Be(new DataView(first.key.buffer, first.key.byteOffset + 2, 8), 0);
    }
    if (atMs >= this.#sweepAt) return;
    if (this.#sweepTimer !== undefined) clearTimeout(this.#sweepTimer);
    this.#sweepAt = atMs;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweepAt = Infinity;
      this.#sweep();
    }, Math.max(0, Math.min(atMs - Date.now(), 2 ** 31 - 1)));
    Deno.unrefTimer(this.#sweepTimer as unknown as number);
  }

  /** Deletes expired keys in one commit (a new versionstamp; watchers are told). */
  #sweep(): void {
    if (this.#closed || this.#storage.store.poisoned !== undefined) return;
    const now = Date.now();
    const expired = this.#tree.batch({
      start: Uint8Array.of(metaPrefix, expiryTag),
      end: concat(Uint8Array.of(metaPrefix, expiryTag), u64BeBytes(now + 1)),
      limit: 500,
    });
    if (expired.length > 0) {
      try {
        this.commit(
          [],
          expired.map((e) => ({ key: e.key.slice(10), type: "delete", expireAtMs: 0 })),
          [],
        );
      } catch {
        // a failed sweep leaves the keys invisible; the next one retries
      }
    }
    this.#scheduleSweep();
  }

  // ---- queue ----

  /** Adds a queue listener; deliveries start at once. */
  listen(listener: QueueListener): () => void {
    this.#queueListeners.push(listener);
    this.#wakeQueue();
    return () => {
      const at = this.#queueListeners.indexOf(listener);
      if (at >= 0) this.#queueListeners.splice(at, 1);
    };
  }

  #wakeQueue(): void {
    if (this.#closed || this.#queueListeners.length === 0) return;
    queueMicrotask(() => this.#deliverReady());
  }

  #armQueueTimer(atMs: number): void {
    if (atMs >= this.#queueTimerAt) return;
    if (this.#queueTimer !== undefined) clearTimeout(this.#queueTimer);
    this.#queueTimerAt = atMs;
    this.#queueTimer = setTimeout(() => {
      this.#queueTimer = undefined;
      this.#queueTimerAt = Infinity;
      this.#deliverReady();
    }, Math.max(0, Math.min(atMs - Date.now(), 2 ** 31 - 1)));
  }

  #deliverReady(): void {
    if (this.#closed || this.#queueListeners.length === 0) return;
    const now = Date.now();
    const prefix = Uint8Array.of(metaPrefix, queueTag);
    const messages = this.#tree.batch({
      start: prefix,
      end: Uint8Array.of(metaPrefix, queueTag + 1),
      limit: 64 + this.#inFlight.size,
    });
    for (const entry of messages) {
      const readyAt = u64Be(new DataView(entry.key.buffer, entry.key.byteOffset + 2, 8), 0);
      if (readyAt > now) {
        this.#armQueueTimer(readyAt);
        return;
      }
      const name = keyString(entry.key);
      if (this.#inFlight.has(name)) continue;
      this.#inFlight.add(name);
      const decoded = deserializeV8(entry.value) as {
        payload: Uint8Array;
        keys: Uint8Array[];
        backoff: number[] | null;
        attempt: number;
      };
      void this.#deliver({
        treeKey: entry.key,
        payload: decoded.payload,
        keysIfUndelivered: decoded.keys,
        backoffMs: decoded.backoff,
        attempt: decoded.attempt,
      });
    }
  }

  async #deliver(message: QueuedMessage): Promise<void> {
    const name = keyString(message.treeKey);
    let ok = false;
    try {
      await this.settled(); // invariant 2: only durable messages are delivered
      const listener = this.#queueListeners[this.#nextListener++ % this.#queueListeners.length];
      if (listener === undefined || this.#closed) return;
      await listener.handler(deserializeV8(message.payload));
      ok = true;
    } catch (error) {
      if (this.#closed) return;
      console.error("Exception in queue handler", error);
    } finally {
      if (!this.#closed) this.#settle(message, ok);
      this.#inFlight.delete(name);
    }
  }

  /** Removes a delivered message, or reschedules it, or writes it to its dead-letter keys. */
  #settle(message: QueuedMessage, delivered: boolean): void {
    if (this.#storage.store.poisoned !== undefined) return;
    const schedule = message.backoffMs ?? defaultBackoffMs;
    const mutations: KvMutation[] = [];
    const enqueues: KvEnqueue[] = [];
    if (!delivered && message.attempt < schedule.length) {
      enqueues.push({
        payload: message.payload,
        readyAtMs: Date.now() + schedule[message.attempt]!,
        keysIfUndelivered: message.keysIfUndelivered,
        backoffMs: message.backoffMs,
      });
    } else if (!delivered) {
      for (const key of message.keysIfUndelivered) {
        mutations.push({
          key,
          type: "set",
          value: { kind: ValueKind.v8, data: message.payload },
          expireAtMs: 0,
        });
      }
    }
    this.#removeMessage(message.treeKey, mutations, enqueues, message.attempt + 1);
  }

  #removeMessage(
    treeKey: Uint8Array,
    mutations: KvMutation[],
    enqueues: KvEnqueue[],
    attempt: number,
  ): void {
    // The removal rides on a commit (so dead letters and retries are atomic with it).
    this.#storage.store.runWhole(0, () => {
      this.#tree.delete(treeKey);
      if (mutations.length > 0 || enqueues.length === 0) {
        if (mutations.length > 0) this.commit([], mutations, []);
        return;
      }
      const enqueue = enqueues[0]!;
      this.#counter++;
      const message: QueuedMessage = {
        treeKey: this.#queueKey(enqueue.readyAtMs, this.#counter * 1024),
        payload: enqueue.payload,
        keysIfUndelivered: enqueue.keysIfUndelivered,
        backoffMs: enqueue.backoffMs,
        attempt,
      };
      this.#tree.put(message.treeKey, this.#encodeMessage(message));
      this.#reserveThrough(this.#counter);
    });
    this.#appliedLsn = this.#storage.wal.insertLsn;
    this.#wakeQueue();
  }

  /** Stops timers and deliveries; closes the engine. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweepTimer !== undefined) clearTimeout(this.#sweepTimer);
    if (this.#queueTimer !== undefined) clearTimeout(this.#queueTimer);
    this.#queueListeners.length = 0;
    this.#commitListeners.clear();
    await this.settled()?.catch(() => {});
    await this.engine.close();
  }
}

/** A data record of the KV tree, decoded (for readers outside the store, e.g. the SQL view). */
export interface StoredRecord {
  kind: ValueKindCode;
  data: Uint8Array;
  versionstamp: string;
  /** 0 = never. */
  expireAtMs: number;
}

/** Decodes a data record's value bytes (the layout in this file's table). */
export function decodeStoredRecord(value: Uint8Array): StoredRecord {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return {
    kind: value[0]! as ValueKindCode,
    data: value.subarray(headerBytes),
    versionstamp: versionstampHex(u64Be(view, 1)),
    expireAtMs: u64Be(view, 9),
  };
}

/** Decodes a stored entry's value. */
export function entryValue(entry: StoredEntry): unknown {
  return decodeValue(entry.kind, entry.data);
}
