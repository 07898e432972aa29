/**
 * Deno.AtomicOperation: collects checks, mutations and enqueues, validating options and
 * serialising values at call time (synchronous throws, as Deno), and hands them to the Kv
 * handle's commit path on commit().
 */
import { KvU64 } from "./kv_u64.ts";
import { type EncodedValue, encodeValue, serializeV8 } from "./value_codec.ts";

/** A pending check, keys not yet validated (Deno validates them at commit). */
export interface PendingCheck {
  key: unknown;
  versionstamp: unknown;
}

/** A pending mutation. */
export interface PendingMutation {
  key: unknown;
  type: "set" | "delete" | "sum" | "min" | "max";
  value?: EncodedValue;
  expireIn?: number;
}

/** A pending enqueue. */
export interface PendingEnqueue {
  payload: Uint8Array;
  delayMs: number;
  keysIfUndelivered: unknown[];
  backoffMs: number[] | null;
}

/** The commit path of a Kv handle. */
export type CommitFn = (
  checks: PendingCheck[],
  mutations: PendingMutation[],
  enqueues: PendingEnqueue[],
) => Promise<string | null>;

/** Deno's expireIn check (JS side): a non-negative integer. */
export function validateExpireIn(expireIn: unknown): void {
  if (expireIn === undefined) return;
  if (typeof expireIn !== "number" || !Number.isInteger(expireIn) || expireIn < 0) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${expireIn}`);
  }
}

/** Deno's queue delay check. */
export function validateDelay(delay: number): void {
  if (delay < 0) throw new TypeError(`Delay must be >= 0: received ${delay}`);
  if (delay > 30 * 24 * 60 * 60 * 1000) {
    throw new TypeError(`Delay cannot be greater than 30 days: received ${delay}`);
  }
  if (Number.isNaN(delay)) throw new TypeError("Delay cannot be NaN");
}

/** Deno's backoffSchedule check. */
export function validateBackoff(schedule: readonly number[]): void {
  if (schedule.length > 5) {
    throw new TypeError("Invalid backoffSchedule, max 5 intervals allowed");
  }
  for (let i = 0; i < schedule.length; i++) {
    const interval = schedule[i]!;
    if (interval < 0 || interval > 3_600_000 || Number.isNaN(interval)) {
      throw new TypeError(`Invalid backoffSchedule, interval at index ${i} is invalid`);
    }
  }
}

/** Options of enqueue. */
export interface EnqueueOptions {
  delay?: number;
  keysIfUndelivered?: unknown[];
  backoffSchedule?: number[];
}

/** Validates and serialises an enqueue (synchronous throws). */
export function pendingEnqueue(message: unknown, options?: EnqueueOptions): PendingEnqueue {
  const delay = options?.delay ?? 0;
  validateDelay(delay);
  if (options?.backoffSchedule !== undefined) validateBackoff(options.backoffSchedule);
  return {
    payload: serializeV8(message),
    delayMs: delay,
    keysIfUndelivered: options?.keysIfUndelivered ?? [],
    backoffMs: options?.backoffSchedule ?? null,
  };
}

export class AtomicOperation {
  readonly #commit: CommitFn;
  readonly #checks: PendingCheck[] = [];
  readonly #mutations: PendingMutation[] = [];
  readonly #enqueues: PendingEnqueue[] = [];

  /** @internal Built by Kv.atomic(). */
  constructor(commit: CommitFn) {
    this.#commit = commit;
  }

  check(...checks: { key: unknown; versionstamp: unknown }[]): this {
    for (const check of checks) {
      this.#checks.push({ key: check.key, versionstamp: check.versionstamp });
    }
    return this;
  }

  mutate(
    ...mutations: { type: string; key: unknown; value?: unknown; expireIn?: number }[]
  ): this {
    for (const mutation of mutations) {
      const key = mutation.key;
      switch (mutation.type) {
        case "delete":
          if (mutation.value) throw new TypeError("Invalid mutation 'delete' with value");
          this.#mutations.push({ key, type: "delete" });
          break;
        case "set":
        case "sum":
        case "min":
        case "max": {
          const type = mutation.type;
          if (!Object.hasOwn(mutation, "value")) {
            throw new TypeError(`Invalid mutation '${type}' without value`);
          }
          const pending: PendingMutation = { key, type, value: encodeValue(mutation.value) };
          if (type === "set" && typeof mutation.expireIn === "number") {
            pending.expireIn = mutation.expireIn;
          }
          this.#mutations.push(pending);
          break;
        }
        default:
          throw new TypeError("Invalid mutation type");
      }
    }
    return this;
  }

  sum(key: unknown, n: bigint): this {
    this.#mutations.push({ key, type: "sum", value: encodeValue(new KvU64(n)) });
    return this;
  }

  min(key: unknown, n: bigint): this {
    this.#mutations.push({ key, type: "min", value: encodeValue(new KvU64(n)) });
    return this;
  }

  max(key: unknown, n: bigint): this {
    this.#mutations.push({ key, type: "max", value: encodeValue(new KvU64(n)) });
    return this;
  }

  set(key: unknown, value: unknown, options?: { expireIn?: number }): this {
    validateExpireIn(options?.expireIn);
    const pending: PendingMutation = { key, type: "set", value: encodeValue(value) };
    if (options?.expireIn !== undefined) pending.expireIn = options.expireIn;
    this.#mutations.push(pending);
    return this;
  }

  delete(key: unknown): this {
    this.#mutations.push({ key, type: "delete" });
    return this;
  }

  enqueue(message: unknown, options?: EnqueueOptions): this {
    this.#enqueues.push(pendingEnqueue(message, options));
    return this;
  }

  async commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }> {
    const versionstamp = await this.#commit(this.#checks, this.#mutations, this.#enqueues);
    if (versionstamp === null) return { ok: false };
    return { ok: true, versionstamp };
  }

  then(): never {
    throw new TypeError(
      "'Deno.AtomicOperation' is not a promise: did you forget to call 'commit()'",
    );
  }

  get [Symbol.toStringTag](): string {
    return "Deno.AtomicOperation";
  }
}
