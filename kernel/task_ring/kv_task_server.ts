/**
 * The kernel's side of Deno.Kv tasks (kv_task.ts): each request runs against a real `Kv` handle
 * from openKv — the same engine, checks, messages and commit path as in-process code — so
 * results are identical by construction. An atomic commit is replayed onto `kv.atomic()` and
 * committed once (all or nothing, one versionstamp).
 *
 * Invariants:
 * 1. List iterators live here between pulls (a Deno list pages in batches, each its own
 *    snapshot); at most {@link openIteratorsMax} per ring, the oldest dropped first; an app's
 *    dropped iterators are released with its next request.
 * 2. A request's own errors (bad envelope) are 08P01; everything Kv throws passes through as is.
 */
import { ExoError } from "../../lib/errors.ts";
import type { Kv } from "../../dbengine/kv/kv.ts";
import type { KvEntry, KvListIterator } from "../../dbengine/kv/list_iterator.ts";
import {
  decodeValue,
  deserializeV8,
  encodeValue,
  serializeV8,
} from "../../dbengine/kv/value_codec.ts";
import type { KvRequest, WireEntry, WirePull } from "./kv_task.ts";

/** Most list iterators kept open per ring. */
export const openIteratorsMax = 256;

function wireEntry(entry: KvEntry): WireEntry {
  const { kind, data } = encodeValue(entry.value);
  return [entry.key, kind, data, entry.versionstamp];
}

/** Serves Deno.Kv tasks of one ring from `kv`. */
export class KvTaskServer {
  readonly #kv: Kv;
  readonly #iterators = new Map<number, KvListIterator>();

  constructor(kv: Kv) {
    this.#kv = kv;
  }

  /** Open list iterators (for tests). */
  get openIterators(): number {
    return this.#iterators.size;
  }

  /** Runs one request; returns the V8-serialised answer. */
  async run(bytes: Uint8Array): Promise<Uint8Array> {
    let request: KvRequest;
    try {
      request = deserializeV8(bytes) as KvRequest;
    } catch (error) {
      throw new ExoError("08P01", `kv task request does not decode: ${(error as Error).message}`);
    }
    if (typeof request !== "object" || request === null) {
      throw new ExoError("08P01", "kv task request is not an object");
    }
    for (const id of request.released ?? []) this.#iterators.delete(id);
    return serializeV8(await this.#answer(request));
  }

  async #answer(request: KvRequest): Promise<unknown> {
    const kv = this.#kv;
    switch (request.op) {
      case "get": {
        const entry = await kv.get(request.key as never, {
          consistency: request.consistency as never,
        });
        return entry.versionstamp === null ? null : wireEntry(entry as KvEntry);
      }
      case "getMany": {
        const entries = await kv.getMany(request.keys as never, {
          consistency: request.consistency as never,
        });
        return entries.map((entry) =>
          entry.versionstamp === null ? null : wireEntry(entry as KvEntry)
        );
      }
      case "commit":
        return await this.#commit(request);
      case "pull":
        return await this.#pull(request);
      default:
        throw new ExoError(
          "08P01",
          `kv task operation ${(request as { op: unknown }).op} is unknown`,
        );
    }
  }

  async #commit(request: Extract<KvRequest, { op: "commit" }>): Promise<string | null> {
    const kv = this.#kv;
    const atomic = kv.atomic();
    for (const check of request.checks) atomic.check(check);
    for (const m of request.mutations) {
      const key = m.versionstampSuffix ? [...(m.key as unknown[]), kv.commitVersionstamp()] : m.key;
      if (m.type === "delete") atomic.delete(key);
      else {
        const value = decodeValue(m.value!.kind, m.value!.data);
        if (m.type === "set") {
          atomic.set(key, value, m.expireIn === undefined ? undefined : { expireIn: m.expireIn });
        } else atomic.mutate({ type: m.type, key, value });
      }
    }
    for (const e of request.enqueues) {
      const options: { delay: number; keysIfUndelivered: unknown[]; backoffSchedule?: number[] } = {
        delay: e.delayMs,
        keysIfUndelivered: e.keysIfUndelivered,
      };
      if (e.backoffMs !== null) options.backoffSchedule = e.backoffMs;
      atomic.enqueue(deserializeV8(e.payload), options);
    }
    const result = await atomic.commit();
    return result.ok ? result.versionstamp : null;
  }

  async #pull(request: Extract<KvRequest, { op: "pull" }>): Promise<WirePull> {
    let iterator = this.#iterators.get(request.id);
    if (iterator === undefined) {
      if (request.create === undefined) {
        throw new Error(`list iterator ${request.id} expired (more than ${openIteratorsMax} open)`);
      }
      const { selector, options } = request.create;
      const listOptions: {
        cursor?: string;
        reverse: boolean;
        batchSize: number;
        consistency?: string;
      } = { reverse: options.reverse, batchSize: options.batchSize };
      if (options.cursor !== undefined) listOptions.cursor = options.cursor;
      if (options.consistency !== undefined) {
        listOptions.consistency = options.consistency as string;
      }
      iterator = this.#kv.list(selector, listOptions);
      if (this.#iterators.size >= openIteratorsMax) {
        this.#iterators.delete(this.#iterators.keys().next().value!);
      }
      this.#iterators.set(request.id, iterator);
    }
    const entries: WireEntry[] = [];
    try {
      while (entries.length < request.count) {
        const next = await iterator.next();
        if (next.done) {
          this.#iterators.delete(request.id);
          return { entries, done: true };
        }
        entries.push(wireEntry(next.value));
      }
    } catch (error) {
      this.#iterators.delete(request.id);
      throw error;
    }
    return { entries, done: false };
  }
}
