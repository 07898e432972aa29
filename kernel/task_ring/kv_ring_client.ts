/**
 * A Deno.Kv-shaped handle for app Workers, served over a task ring by the kernel's
 * KvTaskServer against an openKv database: get, getMany, set, delete, list, atomic (check,
 * mutate, set, delete, sum, min, max, enqueue, commit), enqueue, commitVersionstamp, close.
 * Each call is one task; `atomic().commit()` is one task however many checks and mutations it
 * holds. What Deno checks synchronously (atomic builder options, value serialisation, list
 * options and selector shape) is checked here with the same code, so it throws at the same
 * point; everything else is decided by the kernel's Kv and rethrown here with the same class
 * and message.
 *
 * Not over the ring: watch and listenQueue (they throw TypeError).
 *
 * Invariant: one task in flight per ring (the client's slots are used in turn), so calls are
 * queued and run in call order.
 */
import {
  AtomicOperation,
  type PendingCheck,
  type PendingEnqueue,
  pendingEnqueue,
  type PendingMutation,
  validateExpireIn,
} from "../../dbengine/kv/atomic.ts";
import { assertKeyArray, encodeKey, type KvKeyPart } from "../../dbengine/kv/key_codec.ts";
import { kvLimits } from "../../dbengine/kv/limits.ts";
import {
  type KvEntry,
  KvListIterator,
  type KvListOptions,
  listBatchSize,
  type PulledEntry,
  resolveSelector,
  type SelectorParts,
  selectorParts,
} from "../../dbengine/kv/list_iterator.ts";
import {
  decodeValue,
  deserializeV8,
  encodeValue,
  serializeV8,
} from "../../dbengine/kv/value_codec.ts";
import { ExoError } from "../../lib/errors.ts";
import type { TaskRingClient } from "./client.ts";
import { TaskKind, TaskStatus } from "./layout.ts";
import type { KvRequest, WireEntry, WireMutation, WirePull } from "./kv_task.ts";

/** A get result, as Deno.KvEntryMaybe. */
export type RingKvEntryMaybe = KvEntry | { key: unknown; value: null; versionstamp: null };

const commitVersionstampSymbol = Symbol("Deno.Kv.commitVersionstamp");

function badResource(): Error {
  return new Deno.errors.BadResource("Bad resource ID");
}

/** Kv's consistency check (same message), for the checks made here on a closed handle. */
function checkConsistency(consistency: unknown): void {
  if (consistency === undefined || consistency === "strong" || consistency === "eventual") return;
  throw new TypeError(`unknown variant \`${consistency}\`, expected \`strong\` or \`eventual\``);
}

/** Rebuilds the error the kernel's Kv threw. */
function kernelError(sqlState: string, message: string, errorClass: string): Error {
  switch (errorClass) {
    case "TypeError":
      return new TypeError(message);
    case "RangeError":
      return new RangeError(message);
    case "SyntaxError":
      return new SyntaxError(message);
    case "Error":
      return new Error(message);
    case "ExoError":
      return new ExoError(sqlState, message);
  }
  const denoError = (Deno.errors as Record<string, new (message: string) => Error>)[errorClass];
  return denoError !== undefined ? new denoError(message) : new Error(message);
}

function entryOf(wire: WireEntry): KvEntry {
  return {
    key: wire[0] as KvKeyPart[],
    value: decodeValue(wire[1], wire[2]),
    versionstamp: wire[3],
  };
}

/** Deno.Kv over a task ring. */
export class RingKv {
  readonly #client: TaskRingClient;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #nextIterator = 1;
  readonly #released: number[] = [];
  readonly #finalizer = new FinalizationRegistry<number>((id) => this.#released.push(id));
  readonly #blocking: boolean;

  /**
   * `blocking`: wait for each task with Atomics.wait (a futex wake, faster) instead of
   * Atomics.waitAsync; this Worker's event loop then stands still while a task runs.
   */
  constructor(client: TaskRingClient, options: { blocking?: boolean } = {}) {
    this.#client = client;
    this.#blocking = options.blocking ?? false;
  }

  /** Sends `request` as one task (after the ones before it); its decoded answer. */
  #task(request: KvRequest): Promise<unknown> {
    const run = async () => {
      if (this.#released.length > 0) request.released = this.#released.splice(0);
      let bytes: Uint8Array;
      try {
        bytes = serializeV8(request);
      } catch (error) {
        // A key part V8 cannot clone (a function, a symbol): Deno's key conversion rejects it.
        for (const key of keysOf(request)) encodeKey(key);
        throw error;
      }
      const outcome = this.#blocking
        ? this.#client.runRawSync(TaskKind.kv, bytes)
        : await this.#client.runRaw(TaskKind.kv, bytes);
      if (outcome.status !== TaskStatus.done) {
        const { sqlState, message, errorClass } = JSON.parse(
          new TextDecoder().decode(outcome.result),
        );
        throw kernelError(sqlState, message, errorClass);
      }
      return deserializeV8(outcome.result);
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  async get(
    key: readonly KvKeyPart[],
    options?: { consistency?: string },
  ): Promise<RingKvEntryMaybe> {
    if (this.#closed) {
      encodeKey(key);
      checkConsistency(options?.consistency);
      throw badResource();
    }
    const wire = await this.#task({ op: "get", key, consistency: options?.consistency }) as
      | WireEntry
      | null;
    return wire === null ? { key, value: null, versionstamp: null } : entryOf(wire);
  }

  async getMany(
    keys: readonly (readonly KvKeyPart[])[],
    options?: { consistency?: string },
  ): Promise<RingKvEntryMaybe[]> {
    if (this.#closed) {
      assertKeyArray(keys);
      for (const key of keys) encodeKey(key);
      checkConsistency(options?.consistency);
      throw badResource();
    }
    const wires = await this.#task({
      op: "getMany",
      keys,
      consistency: options?.consistency,
    }) as (WireEntry | null)[];
    return wires.map((wire, i) =>
      wire === null ? { key: keys[i], value: null, versionstamp: null } : entryOf(wire)
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
    const versionstamp = await this.#commit([], [mutation], []);
    if (versionstamp === null) throw new TypeError("Failed to set value");
    return { ok: true, versionstamp };
  }

  async delete(key: readonly KvKeyPart[]): Promise<void> {
    const versionstamp = await this.#commit([], [{ key, type: "delete" }], []);
    if (versionstamp === null) throw new TypeError("Failed to set value");
  }

  async enqueue(
    message: unknown,
    options?: { delay?: number; keysIfUndelivered?: unknown[]; backoffSchedule?: number[] },
  ): Promise<{ ok: true; versionstamp: string }> {
    const pending = pendingEnqueue(message, options);
    const versionstamp = await this.#commit([], [], [pending]);
    if (versionstamp === null) throw new TypeError("Failed to enqueue value");
    return { ok: true, versionstamp };
  }

  /** An atomic operation whose commit() is one task. */
  atomic(): AtomicOperation {
    return new AtomicOperation((checks, mutations, enqueues) =>
      this.#commit(checks, mutations, enqueues)
    );
  }

  /** A symbol for the last part of a set key: replaced by the commit's versionstamp. */
  commitVersionstamp(): symbol {
    return commitVersionstampSymbol;
  }

  async #commit(
    checks: PendingCheck[],
    mutations: PendingMutation[],
    enqueues: PendingEnqueue[],
  ): Promise<string | null> {
    if (this.#closed) throw badResource();
    const wire: WireMutation[] = mutations.map((m) => {
      const key = m.key;
      const out: WireMutation = { key, type: m.type };
      if (
        m.type === "set" && Array.isArray(key) && key.length > 0 &&
        key[key.length - 1] === commitVersionstampSymbol
      ) {
        out.key = key.slice(0, -1);
        out.versionstampSuffix = true;
      }
      if (m.value !== undefined) out.value = m.value;
      if (m.expireIn !== undefined) out.expireIn = m.expireIn;
      return out;
    });
    return await this.#task({
      op: "commit",
      checks: checks.map((c) => ({ key: c.key, versionstamp: c.versionstamp })),
      mutations: wire,
      enqueues,
    }) as string | null;
  }

  list(
    selector: unknown,
    options: KvListOptions = {},
  ): KvListIterator {
    // The same synchronous checks as Kv.list, in the same order.
    const batchSize = listBatchSize(options);
    const limit = options.limit;
    const parts = selectorParts(selector);
    const id = this.#nextIterator++;
    let created = false;
    const pull = async (
      selectorParts: SelectorParts,
      _cursor: string | undefined,
      reverse: boolean,
      count: number,
    ) => {
      if (this.#closed) throw badResource();
      const request: KvRequest = { op: "pull", id, count };
      if (!created) {
        request.create = {
          selector: selectorParts,
          options: {
            ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
            reverse,
            batchSize,
            ...(options.consistency !== undefined ? { consistency: options.consistency } : {}),
          },
        };
      }
      const answer = await this.#task(request) as WirePull;
      created = true;
      const entries: PulledEntry[] = answer.entries.map((wire) => ({ entry: entryOf(wire) }));
      // The kernel resolved the same selector without error, so this cannot throw.
      return { entries, range: resolveSelector(selectorParts) };
    };
    const iterator = new KvListIterator(parts, pull, {
      limit,
      batchSize,
      cursor: options.cursor,
      reverse: options.reverse ?? false,
      consistency: options.consistency,
    });
    this.#finalizer.register(iterator, id);
    return iterator;
  }

  /** Checks its arguments as Kv.watch does (same errors), then throws: not over the ring. */
  watch(keys: readonly (readonly KvKeyPart[])[]): never {
    assertKeyArray(keys);
    const encoded = keys.map((key) => encodeKey(key));
    if (this.#closed) throw badResource();
    if (keys.length > kvLimits.watchKeysCountMax) {
      throw new TypeError(`Too many keys (max ${kvLimits.watchKeysCountMax})`);
    }
    for (const key of encoded) {
      if (key.length > kvLimits.readKeyBytesMax) {
        throw new TypeError(`Key too large for read (max ${kvLimits.readKeyBytesMax} bytes)`);
      }
    }
    throw new TypeError("watch is not available over the task ring");
  }

  listenQueue(): never {
    throw new TypeError("listenQueue is not available over the task ring");
  }

  /** Closes this handle (the kernel's database stays open); a second close throws BadResource. */
  close(): void {
    if (this.#closed) throw badResource();
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  get [Symbol.toStringTag](): string {
    return "Deno.Kv";
  }
}

/** Every key a request carries, in Deno's conversion order (for local errors). */
function keysOf(request: KvRequest): unknown[] {
  switch (request.op) {
    case "get":
      return [request.key];
    case "getMany":
      return Array.isArray(request.keys) ? request.keys : [request.keys];
    case "commit":
      return [...request.checks.map((c) => c.key), ...request.mutations.map((m) => m.key)];
    case "pull": {
      const s = request.create?.selector as SelectorParts | undefined;
      return s === undefined ? [] : [s.prefix, s.start, s.end].filter((p) => p !== undefined);
    }
  }
}
