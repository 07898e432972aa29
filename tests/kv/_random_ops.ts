/**
 * Random operation sequences for the differential test: the same seeded choices are applied
 * to both databases (values that differ per database, such as KvU64 classes and versionstamps
 * for checks, are built per handle).
 */
import { Rng } from "../../lib/rng.ts";
import { Kv, KvU64 } from "../../dbengine/kv/mod.ts";
import { type AnyKv, listAll, normCursor, type Stamps } from "./_diff.ts";
import { RingKv } from "../../kernel/task_ring/kv_ring_client.ts";

/** One generated operation: a label and the call to make on a handle. */
export interface Op {
  label: string;
  run: (kv: AnyKv, stamps: Stamps) => unknown;
  /** A list operation: compared through listAll's text. */
  list?: boolean;
}

function u64(kv: AnyKv, n: bigint): unknown {
  return kv instanceof Kv || kv instanceof RingKv ? new KvU64(n) : new Deno.KvU64(n);
}

const stringParts = ["a", "b", "", "\0", "a\0", "ab", "é", "😀", "\uFFFF", "zz"];
const numberParts = [0, -0, 1, -1, 1.5, Infinity, -Infinity, NaN, Number.MIN_VALUE, 2 ** 53];
const bigintParts = [0n, 1n, -1n, 255n, -256n, 2n ** 64n, -(2n ** 70n)];

export class OpGenerator {
  readonly #rng: Rng;

  constructor(seed: number) {
    this.#rng = new Rng(seed);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#rng.nextInt(items.length)]!;
  }

  #chance(p: number): boolean {
    return this.#rng.nextFloat() < p;
  }

  #part(): unknown {
    switch (this.#rng.nextInt(6)) {
      case 0:
      case 1:
        return this.#pick(stringParts);
      case 2:
        return this.#pick(numberParts);
      case 3:
        return this.#pick(bigintParts);
      case 4:
        return this.#chance(0.5);
      default: {
        const bytes = Array.from({ length: this.#rng.nextInt(3) }, () => this.#pick([0, 1, 255]));
        return this.#chance(0.8) ? Uint8Array.from(bytes) : Int8Array.from(bytes);
      }
    }
  }

  /** A general key (never under "n", where only u64 values live). */
  #key(): unknown[] {
    const key: unknown[] = [this.#pick(["a", "b", "c"])];
    const more = this.#rng.nextInt(3);
    for (let i = 0; i < more; i++) key.push(this.#part());
    return key;
  }

  #counterKey(): unknown[] {
    return ["n", this.#rng.nextInt(6)];
  }

  #value(depth = 0): unknown {
    const r = this.#rng.nextInt(depth > 1 ? 8 : 14);
    switch (r) {
      case 0:
        return this.#pick([0, -0, 1.25, NaN, -1e300, 42]);
      case 1:
        return this.#pick(["", "x", "hello", "é😀", "a".repeat(300)]);
      case 2:
        return this.#pick([true, false, null, undefined]);
      case 3:
        return this.#pick([0n, -5n, 2n ** 80n]);
      case 4:
        return Uint8Array.from({ length: this.#rng.nextInt(5) }, () => this.#rng.nextInt(256));
      case 5:
        return new Date(this.#rng.nextInt(1e12));
      case 6:
        return new Int16Array([this.#rng.nextInt(100), -3]);
      case 7:
        return /ab+c/gi;
      case 8:
        return { a: this.#value(depth + 1), b: [this.#value(depth + 1)] };
      case 9:
        return [this.#value(depth + 1), , this.#value(depth + 1)];
      case 10:
        return new Map([[this.#value(depth + 1), this.#value(depth + 1)]]);
      case 11:
        return new Set([1, "x", this.#value(depth + 1)]);
      case 12:
        return new RangeError("bad " + this.#rng.nextInt(9));
      default:
        return { nested: { deep: [1, 2, { x: this.#value(depth + 1) }] } };
    }
  }

  #consistency(): unknown {
    return this.#pick([undefined, "strong", "eventual"]);
  }

  #selector(): unknown {
    const prefix = this.#chance(0.3) ? [] : this.#key().slice(0, 1 + this.#rng.nextInt(2));
    switch (this.#rng.nextInt(5)) {
      case 0:
      case 1:
        return { prefix };
      case 2:
        return { prefix, start: [...prefix, this.#part()] };
      case 3:
        return { prefix, end: [...prefix, this.#part()] };
      default: {
        const a = this.#key();
        const b = this.#key();
        return this.#chance(0.5) ? { start: a, end: b } : { start: b, end: a };
      }
    }
  }

  #listOptions(): Record<string, unknown> {
    const options: Record<string, unknown> = {};
    if (this.#chance(0.5)) options.limit = 1 + this.#rng.nextInt(25);
    if (this.#chance(0.5)) options.reverse = true;
    if (this.#chance(0.4)) options.batchSize = 1 + this.#rng.nextInt(8);
    const consistency = this.#consistency();
    if (consistency !== undefined) options.consistency = consistency;
    return options;
  }

  /** A check: must-not-exist, or a versionstamp rank some commit returned (each db its own). */
  #check(): { key: unknown[]; rank: number | null } {
    const key = this.#chance(0.3) ? this.#counterKey() : this.#key();
    return { key, rank: this.#chance(0.3) ? null : this.#rng.nextInt(1 << 30) };
  }

  next(): Op {
    const r = this.#rng.nextInt(100);
    if (r < 24) {
      const key = this.#key();
      const value = this.#value();
      const expire = this.#chance(0.1) ? { expireIn: 3_600_000 } : undefined;
      return { label: `set ${String(key)}`, run: (kv) => kv.set(key, value, expire) };
    }
    if (r < 38) {
      const key = this.#chance(0.2) ? this.#counterKey() : this.#key();
      const consistency = this.#consistency();
      return {
        label: `get ${String(key)}`,
        run: (kv) => kv.get(key, consistency === undefined ? undefined : { consistency }),
      };
    }
    if (r < 43) {
      const keys = Array.from({ length: 1 + this.#rng.nextInt(11) }, () => this.#key());
      return { label: `getMany ${keys.length}`, run: (kv) => kv.getMany(keys) };
    }
    if (r < 51) {
      const key = this.#chance(0.2) ? this.#counterKey() : this.#key();
      return { label: `delete ${String(key)}`, run: (kv) => kv.delete(key) };
    }
    if (r < 66) {
      const selector = this.#selector();
      const options = this.#listOptions();
      const resumeAfter = this.#chance(0.3) ? this.#rng.nextInt(6) : -1;
      return {
        label: `list ${JSON.stringify(selector, (_k, v) => typeof v === "bigint" ? `${v}n` : v)}`,
        list: true,
        run: async (kv, stamps) => {
          if (resumeAfter < 0) return await listAll(kv, selector, options, stamps);
          // Page: read a few entries, then resume from the cursor in a new list.
          const first = kv.list(selector, options);
          for (let i = 0; i <= resumeAfter; i++) if ((await first.next()).done) break;
          const cursor = first.cursor;
          return `cursor ${normCursor(cursor, stamps)}\n` +
            await listAll(kv, selector, { ...options, cursor }, stamps);
        },
      };
    }
    if (r < 90) {
      const checks = Array.from({ length: this.#rng.nextInt(3) }, () => this.#check());
      const steps: ((atomic: AnyKv, kv: AnyKv) => void)[] = [];
      const count = this.#rng.nextInt(6);
      for (let i = 0; i < count; i++) {
        const t = this.#rng.nextInt(7);
        if (t === 0) {
          const key = this.#key();
          const value = this.#value();
          steps.push((a) => a.set(key, value));
        } else if (t === 1) {
          const key = this.#chance(0.5) ? this.#counterKey() : this.#key();
          steps.push((a) => a.delete(key));
        } else if (t === 2) {
          const key = this.#counterKey();
          const n = BigInt(this.#rng.nextInt(1000));
          steps.push((a, kv) => a.set(key, u64(kv, n)));
        } else {
          const key = this.#counterKey();
          const op = this.#pick(["sum", "min", "max", "sum"] as const);
          const n = this.#chance(0.1) ? 2n ** 64n - 1n : BigInt(this.#rng.nextInt(1000));
          steps.push((a) => a[op](key, n));
        }
      }
      return {
        label: `atomic ${checks.length} checks ${count} mutations`,
        run: (kv, stamps) => {
          const atomic = kv.atomic();
          for (const c of checks) {
            const vs = c.rank === null
              ? null
              : stamps.byRank(c.rank % Math.max(1, stamps.seen.length)) ?? null;
            atomic.check({ key: c.key, versionstamp: vs });
          }
          for (const step of steps) step(atomic, kv);
          return atomic.commit();
        },
      };
    }
    if (r < 92) {
      const value = this.#value();
      return {
        label: "set with commitVersionstamp",
        run: (kv) => kv.set(["v", kv.commitVersionstamp()], value),
      };
    }
    return this.#invalid();
  }

  #invalid(): Op {
    const cases: Op[] = [
      { label: "bad part", run: (kv) => kv.set(["a", {}], 1) },
      { label: "null part get", run: (kv) => kv.get([null]) },
      { label: "non-array key", run: (kv) => kv.get("a") },
      { label: "empty key set", run: (kv) => kv.set([], 1) },
      { label: "empty key delete", run: (kv) => kv.delete([]) },
      { label: "value too large", run: (kv) => kv.set(["a"], new Uint8Array(65537)) },
      { label: "string value too large", run: (kv) => kv.set(["a"], "a".repeat(65531)) },
      { label: "limit 0", run: (kv) => kv.list({ prefix: [] }, { limit: 0 }) },
      { label: "batchSize 1.5", run: (kv) => kv.list({ prefix: [] }, { batchSize: 1.5 }) },
      { label: "bad selector", run: (kv) => kv.list({ start: ["a"] }) },
      { label: "bad cursor", run: (kv) => kv.list({ prefix: ["a"] }, { cursor: "!!" }).next() },
      { label: "uncloneable", run: (kv) => kv.set(["a"], () => 1) },
      { label: "atomic uncloneable", run: (kv) => kv.atomic().set(["a"], Symbol("x")) },
      {
        label: "bad check",
        run: (kv) => kv.atomic().check({ key: ["a"], versionstamp: "x" }).commit(),
      },
      { label: "sum number", run: (kv) => kv.atomic().sum(["n", 0], 1) },
      { label: "expireIn -1", run: (kv) => kv.set(["a"], 1, { expireIn: -1 }) },
      { label: "getMany 11", run: (kv) => kv.getMany(Array.from({ length: 11 }, () => ["a"])) },
      { label: "watch 11", run: (kv) => kv.watch(Array.from({ length: 11 }, () => ["a"])) },
      { label: "mutate bad type", run: (kv) => kv.atomic().mutate({ type: "x", key: ["a"] }) },
      { label: "await atomic", run: (kv) => kv.atomic().then() },
      { label: "key too large", run: (kv) => kv.set(["a".repeat(2047)], 1) },
      { label: "consistency bogus", run: (kv) => kv.get(["a"], { consistency: "bogus" }) },
      { label: "start > end", run: (kv) => kv.list({ start: ["b"], end: ["a"] }).next() },
    ];
    return this.#pick(cases);
  }
}
