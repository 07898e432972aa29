/**
 * Deno.Kv on ExoDB's engine: the handle returned by {@link openKv}. Mirrors Deno 2.9.6's
 * surface, messages and the split between synchronous throws and rejected promises
 * (DENOKV.md §1, §5): option and serialisation errors of atomic builders throw at call time;
 * everything the database layer checks (keys, sizes, limits, check format) rejects.
 *
 * Differences from Deno, on purpose: a commit whose sum/min/max cannot apply writes nothing
 * (Deno keeps the mutations before it); expired keys are invisible from their expiry (Deno shows
 * them for up to a minute). See dbengine/kv/README.md for the full list.
 */
import { assertKeyArray, decodeKey, encodeKey, type KvKeyPart, withByte } from "./key_codec.ts";
import {
  applyCursor,
  type KvEntry,
  KvListIterator,
  type KvListOptions,
  listBatchSize,
  type PulledEntry,
  resolveSelector,
  type SelectorParts,
  selectorParts,
} from "./list_iterator.ts";
import { kvLimits } from "./limits.ts";
import {
  AtomicOperation,
  type EnqueueOptions,
  type PendingCheck,
  type PendingEnqueue,
  pendingEnqueue,
  type PendingMutation,
  validateExpireIn,
} from "./atomic.ts";
import { entryValue, keyString, type KvCheck, type KvMutation, type KvStore } from "./kv_store.ts";
import { encodeValue, ValueKind } from "./value_codec.ts";

/** The symbol commitVersionstamp() returns: allowed only as the last part of a set key. */
const commitVersionstampSymbol = Symbol("Deno.Kv.commitVersionstamp");

/** A get result, as Deno.KvEntryMaybe. */
export type KvEntryMaybe = KvEntry | { key: unknown; value: null; versionstamp: null };

function badResource(): Error {
  return new Deno.errors.BadResource("Bad resource ID");
}

function checkConsistency(consistency: unknown): void {
  if (consistency === undefined || consistency === "strong" || consistency === "eventual") return;
  throw new TypeError(`unknown variant \`${consistency}\`, expected \`strong\` or \`eventual\``);
}

function serdeTypeName(value: unknown): string {
  if (value === null) return "Null";
  const t = typeof value;
  return t === "object" ? "Object" : t.charAt(0).toUpperCase() + t.slice(1);
}

function checkWriteKey(key: Uint8Array): number {
  if (key.length === 0) throw new TypeError("key cannot be empty");
  if (key.length > kvLimits.writeKeyBytesMax) {
    throw new TypeError(`Key too large for write (max ${kvLimits.writeKeyBytesMax} bytes)`);
  }
  return key.length;
}

function checkReadKey(key: Uint8Array): void {
  if (key.length > kvLimits.readKeyBytesMax) {
    throw new TypeError(`Key too large for read (max ${kvLimits.readKeyBytesMax} bytes)`);
  }
}

function mutationKeyError(error: unknown): unknown {
  if (error instanceof TypeError && error.message.startsWith("BigUint")) {
    return new TypeError(`Invalid mutation: ${error.message}`);
  }
  return error;
}

/** Encodes a mutation key; a set may end in commitVersionstamp(). */
function encodeMutationKey(
  key: unknown,
  type: PendingMutation["type"],
): { key: Uint8Array; suffix: boolean } {
  assertKeyArray(key);
  if (type === "set" && key.length > 0 && key[key.length - 1] === commitVersionstampSymbol) {
    return { key: encodeKey(key.slice(0, -1)), suffix: true };
  }
  try {
    return { key: encodeKey(key), suffix: false };
  } catch (error) {
    throw mutationKeyError(error);
  }
}

interface Shared {
  store: KvStore;
}

export class Kv {
  readonly #shared: Shared;
  readonly #release: () => Promise<void>;
  #closed = false;
  #closedPromise: Promise<void> | undefined;
  readonly #onClose = new Set<() => void>();

  /** @internal Built by openKv. */
  constructor(shared: Shared, release: () => Promise<void>) {
    this.#shared = shared;
    this.#release = release;
  }

  get #store(): KvStore {
    return this.#shared.store;
  }

  /** Makes a handed-out result wait for durability (kv_store.ts invariant 2). */
  #settled(): Promise<void> | undefined {
    return this.#store.settled();
  }

  #checkOpen(): void {
    if (this.#closed) throw badResource();
  }

  #entry(key: Uint8Array, stored: { key: Uint8Array } & Parameters<typeof entryValue>[0]): KvEntry {
    return { key: decodeKey(key), value: entryValue(stored), versionstamp: stored.versionstamp };
  }

  #readPoint(key: unknown): Uint8Array {
    const encoded = encodeKey(key);
    return encoded;
  }

  async get(key: readonly KvKeyPart[], options?: { consistency?: string }): Promise<KvEntryMaybe> {
    const encoded = this.#readPoint(key);
    checkConsistency(options?.consistency);
    this.#checkOpen();
    checkReadKey(withByte(encoded, 0));
    const stored = this.#store.get(encoded);
    await this.#settled();
    if (stored === undefined) return { key, value: null, versionstamp: null };
    return this.#entry(encoded, stored);
  }

  async getMany(
    keys: readonly (readonly KvKeyPart[])[],
    options?: { consistency?: string },
  ): Promise<KvEntryMaybe[]> {
    assertKeyArray(keys);
    const encoded = keys.map((key) => this.#readPoint(key));
    checkConsistency(options?.consistency);
    this.#checkOpen();
    if (keys.length > kvLimits.readRangesCountMax) {
      throw new TypeError(`Too many ranges (max ${kvLimits.readRangesCountMax})`);
    }
    for (const key of encoded) checkReadKey(withByte(key, 0));
    const stored = encoded.map((key) => this.#store.get(key));
    await this.#settled();
    return stored.map((entry, i) =>
      entry === undefined
        ? { key: keys[i], value: null, versionstamp: null }
        : this.#entry(encoded[i]!, entry)
    );
  }

  async set(
    key: readonly unknown[],
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<{ ok: true; versionstamp: string }> {
    validateExpireIn(options?.expireIn);
    const mutation: PendingMutation = { key, type: "set", value: encodeValue(value) };
    if (options?.expireIn !== undefined) mutation.expireIn = options.expireIn;
    const versionstamp = await this.#commitPending([], [mutation], []);
    if (versionstamp === null) throw new TypeError("Failed to set value");
    return { ok: true, versionstamp };
  }

  async delete(key: readonly KvKeyPart[]): Promise<void> {
    const versionstamp = await this.#commitPending([], [{ key, type: "delete" }], []);
    if (versionstamp === null) throw new TypeError("Failed to set value");
  }

  list(
    selector: unknown,
    options: KvListOptions = {},
  ): KvListIterator {
    const batchSize = listBatchSize(options);
    const limit = options.limit;
    const parts = selectorParts(selector);
    return new KvListIterator(parts, (s, c, r, n, k) => this.#pull(s, c, r, n, k), {
      limit,
      batchSize,
      cursor: options.cursor,
      reverse: options.reverse ?? false,
      consistency: options.consistency,
    });
  }

  async #pull(
    selector: SelectorParts,
    cursor: string | undefined,
    reverse: boolean,
    limit: number,
    consistency: unknown,
  ) {
    checkConsistency(consistency);
    // Keys are converted before the resource is looked up, as Deno's op arguments are.
    for (const part of [selector.prefix, selector.start, selector.end]) {
      if (part !== undefined) encodeKey(part);
    }
    this.#checkOpen();
    if (limit > kvLimits.readEntriesCountMax) {
      throw new TypeError(`Too many entries (max ${kvLimits.readEntriesCountMax})`);
    }
    const resolved = resolveSelector(selector);
    const range = cursor === undefined ? resolved : applyCursor(resolved, cursor, reverse);
    const stored = this.#store.range(range.start, range.end, limit, reverse);
    await this.#settled();
    const entries: PulledEntry[] = stored.map((s) => ({ entry: this.#entry(s.key, s) }));
    return { entries, range: resolved };
  }

  async enqueue(
    message: unknown,
    options?: EnqueueOptions,
  ): Promise<{ ok: true; versionstamp: string }> {
    const pending = pendingEnqueue(message, options);
    const versionstamp = await this.#commitPending([], [], [pending]);
    if (versionstamp === null) throw new TypeError("Failed to enqueue value");
    return { ok: true, versionstamp };
  }

  async listenQueue(handler: (value: unknown) => Promise<void> | void): Promise<void> {
    if (this.#closed) throw new Error("Queue already closed");
    const stop = this.#store.listen({ handler });
    await new Promise<void>((resolve) => {
      this.#onClose.add(() => {
        stop();
        resolve();
      });
    });
  }

  atomic(): AtomicOperation {
    return new AtomicOperation((checks, mutations, enqueues) =>
      this.#commitPending(checks, mutations, enqueues)
    );
  }

  /** A symbol for the last part of a set key: replaced by the commit's versionstamp. */
  commitVersionstamp(): symbol {
    return commitVersionstampSymbol;
  }

  watch(
    keys: readonly (readonly KvKeyPart[])[],
    options: { raw?: boolean } = {},
  ): ReadableStream<KvEntryMaybe[]> {
    assertKeyArray(keys);
    const encoded = keys.map((key) => encodeKey(key));
    this.#checkOpen();
    if (keys.length > kvLimits.watchKeysCountMax) {
      throw new TypeError(`Too many keys (max ${kvLimits.watchKeysCountMax})`);
    }
    for (const key of encoded) checkReadKey(key);
    if (encoded.length === 0) {
      // Deno's stream for no keys ends at once.
      return new ReadableStream({ start: (controller) => controller.close() });
    }
    return this.#watchStream(keys, encoded, options.raw ?? false);
  }

  #watchStream(
    keys: readonly (readonly KvKeyPart[])[],
    encoded: Uint8Array[],
    raw: boolean,
  ): ReadableStream<KvEntryMaybe[]> {
    const names = new Set(encoded.map(keyString));
    let last: (string | null)[] | undefined;
    let dirty = true;
    let wake: (() => void) | undefined;
    let ended = false;
    const touched = (written: Set<string>) => {
      for (const name of written) {
        if (names.has(name)) {
          dirty = true;
          wake?.();
          return;
        }
      }
    };
    const unsubscribe = this.#store.onCommit(touched);
    const end = () => {
      ended = true;
      unsubscribe();
      wake?.();
    };
    this.#onClose.add(end);
    return new ReadableStream<KvEntryMaybe[]>({
      pull: async (controller) => {
        for (;;) {
          if (ended) {
            controller.close();
            return;
          }
          if (dirty) {
            dirty = false;
            const stored = encoded.map((key) => this.#store.get(key));
            await this.#settled();
            const stamps = stored.map((s) => s?.versionstamp ?? null);
            const changed = last === undefined || raw || stamps.some((s, i) => s !== last![i]);
            if (changed) {
              last = stamps;
              controller.enqueue(
                stored.map((entry, i) =>
                  entry === undefined
                    ? { key: keys[i], value: null, versionstamp: null }
                    : this.#entry(encoded[i]!, entry)
                ),
              );
              return;
            }
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
      cancel: () => {
        this.#onClose.delete(end);
        end();
      },
    });
  }

  /** Validates a commit as Deno's database layer does, then runs it. */
  async #commitPending(
    checks: PendingCheck[],
    mutations: PendingMutation[],
    enqueues: PendingEnqueue[],
  ): Promise<string | null> {
    const versionstamp = this.#commitNow(checks, mutations, enqueues);
    const durable = this.#store.settled();
    if (durable !== undefined) await durable;
    return versionstamp;
  }

  /**
   * The synchronous part of a commit: Deno's argument conversion, then its database-layer
   * checks, then the store's commit. Throws what Deno rejects with (the caller is async).
   */
  #commitNow(
    checks: PendingCheck[],
    mutations: PendingMutation[],
    enqueues: PendingEnqueue[],
  ): string | null {
    // Argument conversion: key arrays and part types, versionstamp types.
    const checkKeys: Uint8Array[] = new Array(checks.length);
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      checkKeys[i] = encodeKey(c.key);
      const vs = c.versionstamp;
      if (vs !== null && vs !== undefined && typeof vs !== "string") {
        throw new TypeError(
          `serde_v8 error: invalid type; expected: string, got: ${serdeTypeName(vs)}`,
        );
      }
    }
    const mutationKeys: { key: Uint8Array; suffix: boolean }[] = new Array(mutations.length);
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!;
      mutationKeys[i] = encodeMutationKey(m.key, m.type);
    }
    const deadLetterKeys = enqueues.map((e) => {
      assertKeyArray(e.keysIfUndelivered);
      return e.keysIfUndelivered.map((key) => encodeKey(key));
    });
    this.#checkOpen();
    if (checks.length > kvLimits.checksCountMax) {
      throw new TypeError(`Too many checks (max ${kvLimits.checksCountMax})`);
    }
    if (mutations.length + enqueues.length > kvLimits.mutationsCountMax) {
      throw new TypeError(`Too many mutations (max ${kvLimits.mutationsCountMax})`);
    }
    const kvChecks: KvCheck[] = new Array(checks.length);
    for (let i = 0; i < checks.length; i++) {
      const vs = checks[i]!.versionstamp;
      if (vs === null || vs === undefined) {
        kvChecks[i] = { key: checkKeys[i]!, versionstamp: null };
        continue;
      }
      if (!/^[0-9a-fA-F]{20}$/.test(vs as string)) throw new TypeError("Invalid check");
      kvChecks[i] = { key: checkKeys[i]!, versionstamp: (vs as string).toLowerCase() };
    }
    const now = Date.now();
    const kvMutations: KvMutation[] = new Array(mutations.length);
    for (let i = 0; i < mutations.length; i++) {
      const m = mutations[i]!;
      let expireAtMs = 0;
      if (m.expireIn !== undefined) {
        expireAtMs = now + m.expireIn;
        if (expireAtMs > kvLimits.expireAtMsMax) {
          throw new TypeError(`Invalid mutation: expireIn is too large: ${m.expireIn}`);
        }
      }
      const { key, suffix } = mutationKeys[i]!;
      const mutation: KvMutation = { key, type: m.type, expireAtMs };
      if (m.value !== undefined) mutation.value = m.value;
      if (suffix) mutation.versionstampSuffix = (vs) => concatKey(key, encodeKey([vs]));
      kvMutations[i] = mutation;
    }
    // Deno's order of checks: every check key and mutation key first, then the values.
    let totalBytes = 0;
    let totalKeyBytes = 0;
    for (const check of kvChecks) totalBytes += checkWriteKey(check.key);
    for (const mutation of kvMutations) totalBytes += checkWriteKey(mutation.key);
    for (const mutation of kvMutations) {
      if (mutation.value === undefined) continue;
      const keyBytes = mutation.key.length; // checked just above
      const valueBytes = mutation.value.kind === ValueKind.u64 ? 8 : mutation.value.data.length;
      if (valueBytes > kvLimits.valueBytesMax) {
        throw new TypeError(`Value too large (max ${kvLimits.valueBytesMax} bytes)`);
      }
      totalBytes += valueBytes + keyBytes;
      totalKeyBytes += keyBytes;
    }
    for (const enqueue of enqueues) {
      if (enqueue.payload.length > kvLimits.enqueuePayloadBytesMax) {
        throw new TypeError(
          `enqueue payload too large (max ${kvLimits.enqueuePayloadBytesMax} bytes)`,
        );
      }
      totalBytes += enqueue.payload.length + 4 * (enqueue.backoffMs?.length ?? 0);
    }
    if (totalBytes > kvLimits.totalMutationBytesMax) {
      throw new TypeError(
        `Total mutation size too large (max ${kvLimits.totalMutationBytesMax} bytes)`,
      );
    }
    if (totalKeyBytes > kvLimits.totalKeyBytesMax) {
      throw new TypeError(`Total key size too large (max ${kvLimits.totalKeyBytesMax} bytes)`);
    }
    return this.#store.commit(
      kvChecks,
      kvMutations,
      enqueues.length === 0 ? [] : enqueues.map((e, i) => ({
        payload: e.payload,
        readyAtMs: now + e.delayMs,
        keysIfUndelivered: deadLetterKeys[i]!,
        backoffMs: e.backoffMs,
      })),
    );
  }

  /** Closes the handle; a second close throws BadResource, as Deno. */
  close(): void {
    if (this.#closed) throw badResource();
    this.#closed = true;
    for (const action of this.#onClose) action();
    this.#onClose.clear();
    this.#closedPromise = this.#release();
  }

  /** ExoDB extension: settles once close() has flushed and released the engine. */
  whenClosed(): Promise<void> {
    return this.#closedPromise ?? Promise.resolve();
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  get [Symbol.toStringTag](): string {
    return "Deno.Kv";
  }
}

function concatKey(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
