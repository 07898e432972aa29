/**
 * DENOKV.md §10's differential plan as scripted steps: each case runs on a fresh database and
 * yields a transcript (outcome of every step). Shared by the plan test (Deno's KV vs openKv) and
 * the KV Connect test (a real Deno client talking to ExoDB's server).
 */
import { Kv, KvU64 } from "../../dbengine/kv/mod.ts";
import { type AnyKv, listAll, outcome, Stamps } from "./_diff.ts";

/** One step of a case. */
export type Step = ((kv: AnyKv, stamps: Stamps) => unknown) & { localOnly?: true };

/** Marks a step that the KV Connect test leaves out (Deno's remote client differs there). */
function localOnly(step: Step): Step {
  step.localOnly = true;
  return step;
}

function u64(kv: AnyKv, n: bigint): unknown {
  return kv instanceof Kv ? new KvU64(n) : new Deno.KvU64(n);
}

const list = (selector: unknown, options: Record<string, unknown> = {}): Step => (kv, stamps) =>
  listAll(kv, selector, options, stamps);
const set = (key: unknown[], value: unknown = 1): Step => (kv) => kv.set(key, value);
const get = (key: unknown): Step => (kv) => kv.get(key);
const bigString = (encodedBytes: number, extraParts = 0) =>
  "a".repeat(encodedBytes - 2 * (1 + extraParts));

/** The cases, by plan number and name. */
export const planCases: Record<string, Step[]> = {
  "1 type order": [
    set(["t", new Uint8Array([1])]),
    set(["t", "s"]),
    set(["t", 5n]),
    set(["t", 5]),
    set(["t", false]),
    set(["t", true]),
    list({ prefix: ["t"] }),
    list({ prefix: ["t"] }, { reverse: true }),
  ],
  "2 utf-8 order": [
    ...["\uFFFF", "😀", "", "\0", "a", "a\0", "ab", "\uD800", "\uFFFD"].map((s) =>
      set(["u", s], s)
    ),
    list({ prefix: ["u"] }),
    get(["u", "\uD800"]),
  ],
  "3 numbers": [
    ...[-0, 0, Infinity, -Infinity, NaN, -NaN, Number.MIN_VALUE, -Number.MIN_VALUE, 1].map((n) =>
      set(["n", n], n)
    ),
    set(["n", 1n], "big"),
    list({ prefix: ["n"] }),
    get(["n", -0]),
    get(["n", 0]),
  ],
  "4 bigint edges": [
    ...[
      255n,
      -255n,
      256n,
      -256n,
      2n ** 64n - 1n,
      -(2n ** 64n - 1n),
      2n ** 64n,
      -(2n ** 64n),
      2n ** 70n,
      -(2n ** 70n),
      2n ** 2039n,
    ]
      .map((n) => set(["b", n], String(n))),
    list({ prefix: ["b"] }),
    set(["b", 2n ** 2048n]),
    get(["b", 2n ** 2048n]),
  ],
  "5 bytes": [
    ...[[], [0], [0, 0], [0, 255], [1]].map((b) => set(["y", Uint8Array.from(b)], b.length)),
    set(["y", new Int8Array([2, -1])], "int8"),
    set(["y", new DataView(new Uint8Array([3, 4]).buffer)], "dataview"),
    set(["y", new Uint8Array([9, 5, 6, 9]).subarray(1, 3)], "subarray"),
    list({ prefix: ["y"] }),
  ],
  "6 key sizes": [
    set([bigString(2048)]),
    set([bigString(2049)]),
    (kv) => kv.delete([bigString(2048)]),
    (kv) => kv.delete([bigString(2049)]),
    (kv) => kv.atomic().check({ key: [bigString(2048)], versionstamp: null }).commit(),
    (kv) => kv.atomic().check({ key: [bigString(2049)], versionstamp: null }).commit(),
    get([bigString(2048)]),
    get([bigString(2049)]),
    get([bigString(2050)]),
    list({ prefix: [bigString(2048)] }),
    list({ prefix: [bigString(2049)] }),
    set(["\0".repeat(1000) + "a".repeat(44)]),
    set(["\0".repeat(1000) + "a".repeat(45)]),
  ],
  "7 empty key": [
    get([]),
    set([]),
    (kv) => kv.delete([]),
    (kv) => kv.atomic().check({ key: [], versionstamp: null }).commit(),
    set(["x"]),
    set(["y", 1]),
    list({ prefix: [] }),
  ],
  "8 selectors": [
    set(["p"], "self"),
    set(["p", 1]),
    set(["p", 2]),
    set(["p", 3, "deep"]),
    set(["q"]),
    list({ prefix: ["p"] }),
    list({ prefix: ["p"], start: ["p", 2] }),
    list({ prefix: ["p"], end: ["p", 3] }),
    list({ start: ["p", 1], end: ["p", 1] }),
    list({ start: ["p", 2], end: ["p", 1] }),
    list({ prefix: ["p"], start: ["p"] }),
    list({ prefix: ["p"], start: ["q"] }),
    list({ prefix: ["p"], end: ["a"] }),
    list({ prefix: ["p"], start: ["p", 1], end: ["p", 3] }),
    list({ start: ["p"] }),
    list({ prefix: ["p"], start: undefined }),
    list({ prefix: undefined, start: ["p"], end: ["q"] }),
    list({}),
    list({ start: ["p"], end: ["q"] }),
  ],
  "9 limit and batchSize": [
    ...Array.from({ length: 30 }, (_, i) => set(["l", i], i)),
    list({ prefix: ["l"] }, { limit: 0 }),
    list({ prefix: ["l"] }, { limit: 1 }),
    list({ prefix: ["l"] }, { limit: 1.5 }),
    list({ prefix: ["l"] }, { limit: -1 }),
    list({ prefix: ["l"] }, { limit: 100 }),
    list({ prefix: ["l"] }, { limit: 5, reverse: true }),
    list({ prefix: ["l"] }, { batchSize: 1 }),
    list({ prefix: ["l"] }, { batchSize: 1000 }),
    list({ prefix: ["l"] }, { batchSize: 1001 }),
    list({ prefix: ["l"] }, { limit: 5000 }),
    list({ prefix: ["l"] }, { batchSize: 0 }),
  ],
  "10 cursors": [
    ...Array.from({ length: 12 }, (_, i) => set(["m", i], i)),
    set(["m"], "self"),
    async (kv, stamps) => {
      const out: string[] = [];
      for (const reverse of [false, true]) {
        for (const selector of [{ prefix: ["m"] }, { start: ["m", 2], end: ["m", 9] }]) {
          let cursor: string | undefined;
          for (let page = 0; page < 10; page++) {
            const it = kv.list(selector, { limit: 3, reverse, ...(cursor ? { cursor } : {}) });
            const keys: string[] = [];
            for await (const entry of it) keys.push(String(entry.key));
            out.push(
              `${JSON.stringify(selector)} ${reverse} page ${page}: ${keys} -> ${it.cursor}`,
            );
            if (keys.length === 0) break;
            cursor = it.cursor;
          }
        }
      }
      return out.join("\n") + stamps.seen.length;
    },
    list({ prefix: ["m"] }, { cursor: "" }),
    list({ prefix: ["m"] }, { cursor: "!!!" }),
    list({ prefix: ["m"] }, { cursor: "IcAAAAAAAAA" }),
    list({ prefix: ["m"] }, { cursor: "IcAAAAAAAAAA" }),
    list({ start: ["m", 5], end: ["m", 8] }, { cursor: "IcAAAAAAAAAA" }),
    list({ start: ["m", 5], end: ["m", 8] }, { cursor: "IcAAAAAAAAAA", reverse: true }),
    list({ start: ["m", 2], end: ["m", 4] }, { cursor: "IcAgAAAAAAAA" }),
    list({ start: ["m", 2], end: ["m", 4] }, { cursor: "IcAgAAAAAAAA", reverse: true }),
    list({ prefix: ["zz"] }, { cursor: "IcAAAAAAAAAA" }),
    // The key equal to a range's common prefix has the empty cursor, which still bounds a batch.
    list({ start: ["m"], end: ["m", 3] }, { reverse: true, batchSize: 1 }),
    list({ start: ["m"], end: ["m", 3] }, { batchSize: 1 }),
    async (kv) => {
      const it = kv.list({ prefix: ["m"] }, { batchSize: 2 });
      await it.next();
      await kv.set(["m", 1.5], "inserted mid-iteration");
      const keys: string[] = [];
      for await (const entry of it) keys.push(String(entry.key));
      return keys.join(";");
    },
  ],
  "11 atomics": [
    (kv) => kv.atomic().set(["k"], 1).delete(["k"]).commit(),
    get(["k"]),
    (kv) => kv.atomic().sum(["c"], 1n).sum(["c"], 2n).commit(),
    get(["c"]),
    (kv) => kv.atomic().set(["c2"], u64(kv, 10n)).sum(["c2"], 5n).commit(),
    get(["c2"]),
    set(["k"], "v1"),
    (kv) => kv.atomic().set(["k"], "v2").check({ key: ["k"], versionstamp: null }).commit(),
    (kv) => kv.atomic().check({ key: ["missing"], versionstamp: null }).commit(),
    (kv) => kv.atomic().check({ key: ["missing"], versionstamp: undefined }).commit(),
    async (kv, stamps) => {
      const before = (await kv.get(["k"])).versionstamp;
      await kv.delete(["k"]);
      await kv.set(["k"], "again");
      const r = await kv.atomic().check({ key: ["k"], versionstamp: before }).set(["k"], 0)
        .commit();
      return `${r.ok} ${stamps.seen.length}`;
    },
    async (kv) => {
      const vs = (await kv.get(["k"])).versionstamp;
      const r = await kv.atomic().check({ key: ["k"], versionstamp: vs.toUpperCase() }).commit();
      return r.ok;
    },
    (kv) => kv.atomic().check({ key: ["k"], versionstamp: "0000" }).commit(),
    (kv) => kv.atomic().check({ key: ["k"], versionstamp: "zz".repeat(10) }).commit(),
    (kv) => kv.atomic().commit(),
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 1000; i++) a.set(["many", i], i);
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 1001; i++) a.set(["many", i], i);
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 999; i++) a.set(["many", i], i);
      return a.enqueue(1).enqueue(2).commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 100; i++) a.check({ key: ["chk", i], versionstamp: null });
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 101; i++) a.check({ key: ["chk", i], versionstamp: null });
      return a.commit();
    },
    async (kv) => {
      const results = await Promise.all(
        Array.from(
          { length: 5 },
          (_, i) =>
            kv.atomic().check({ key: ["race"], versionstamp: null }).set(["race"], i).commit(),
        ),
      );
      return results.map((r: { ok: boolean }) => r.ok).join(",");
    },
    get(["race"]),
    (kv) => (kv.atomic() as { then(): void }).then(),
  ],
  "12 size accounting": [
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 12; i++) a.set(["big", i], new Uint8Array(65536));
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 13; i++) a.set(["big", i], new Uint8Array(65536));
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 40; i++) a.set([bigString(2048, 1), i], 1);
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 41; i++) a.set([bigString(2048, 1), i], 1);
      return a.commit();
    },
    (kv) => {
      const a = kv.atomic();
      for (let i = 0; i < 41; i++) a.delete([bigString(2048, 1), i]);
      return a.commit();
    },
    set(["v"], new Uint8Array(65536)),
    set(["v"], new Uint8Array(65537)),
    set(["v"], "a".repeat(65530)),
    set(["v"], "a".repeat(65531)),
    set(["v"], { a: "a".repeat(65520) }),
    set(["v"], { a: "a".repeat(65530) }),
    (kv) => kv.enqueue("a".repeat(65530)),
    (kv) => kv.enqueue("a".repeat(65531)),
  ],
  "13 KvU64 and sum/min/max": [
    (kv) => kv.atomic().set(["w"], u64(kv, 2n ** 64n - 1n)).sum(["w"], 2n).commit(),
    get(["w"]),
    (kv) => kv.atomic().sum(["fresh"], 7n).min(["fresh2"], 3n).max(["fresh3"], 4n).commit(),
    (kv) => kv.getMany([["fresh"], ["fresh2"], ["fresh3"]]),
    (kv) => kv.atomic().min(["w"], 0n).commit(),
    (kv) => kv.atomic().max(["w"], 2n ** 64n - 1n).commit(),
    get(["w"]),
    set(["num"], 5),
    set(["bytes"], new Uint8Array(2)),
    set(["bi"], 5n),
    // Deno commits the mutations before a failing one (a known oracle bug, DENOKV.md §6):
    // only the error is compared here; ExoDB's all-or-nothing result has its own test.
    (kv) => kv.atomic().sum(["num"], 1n).commit(),
    (kv) => kv.atomic().min(["bytes"], 1n).commit(),
    (kv) => kv.atomic().max(["bi"], 1n).commit(),
    (kv) => kv.atomic().mutate({ type: "sum", key: ["num"], value: 2 }).commit(),
    get(["num"]),
    (kv) => kv.atomic().mutate({ type: "sum", key: ["bi"], value: 2n }).commit(),
    get(["bi"]),
    (kv) => kv.atomic().mutate({ type: "sum", key: ["w"], value: 5n }).commit(),
    get(["w"]),
    (kv) => kv.atomic().mutate({ type: "sum", key: ["w"], value: 5 }).commit(),
    (kv) => kv.atomic().mutate({ type: "min", key: ["w"], value: 5n }).commit(),
    set(["nested"], { inner: new KvU64(5n) }),
    get(["nested"]),
    (kv) => kv.atomic().sum(["w"], 1 as unknown as bigint),
    (kv) => kv.atomic().sum(["w"], -1n),
    (kv) => kv.atomic().sum(["w"], 2n ** 64n),
    (kv) => Object.keys(u64(kv, 3n) as object).join(",") + Object.isFrozen(u64(kv, 3n)),
  ],
  "14 value round-trips": [
    ...(() => {
      const cyclic: Record<string, unknown> = { name: "c" };
      cyclic.self = cyclic;
      class Point {
        x = 1;
      }
      const values: unknown[] = [
        -0,
        NaN,
        undefined,
        null,
        new Map([[1, { a: 2 }]]),
        new Set([1, "2"]),
        [1, , 3],
        new Date(12345),
        /re+/m,
        new TypeError("boom"),
        new Float64Array([1.5, -0]),
        new BigInt64Array([5n]),
        new Uint8Array([1, 2, 3]),
        new Point(),
        new URL("https://example.com/x"),
        cyclic,
        "x".repeat(1000),
        { deep: { deeper: [new Map(), new Set()] } },
      ];
      return values.map((v, i) => [set(["rt", i], v), get(["rt", i])]).flat();
    })(),
    set(["rt", "fn"], () => 1),
    set(["rt", "sym"], Symbol("s")),
    set(["rt", "weak"], new WeakMap()),
    (kv) => kv.atomic().set(["rt", "fn"], () => 1),
  ],
  "15 errors and close": [
    (kv) => kv.get("notarray"),
    (kv) => kv.get([null]),
    (kv) => kv.get([{}]),
    (kv) => kv.get([[1]]),
    (kv) => kv.get([new ArrayBuffer(2)]),
    (kv) => kv.get([Object(1)]),
    (kv) => kv.getMany(Array.from({ length: 11 }, (_, i) => [i])),
    (kv) => kv.set(["a"], 1, { expireIn: -1 }),
    (kv) => kv.set(["a"], 1, { expireIn: 1.5 }),
    (kv) => kv.set(["a"], 1, { expireIn: 2 ** 53 }),
    (kv) => kv.atomic().set(["a"], 1, { expireIn: -1 }),
    (kv) => kv.enqueue(1, { delay: -1 }),
    (kv) => kv.enqueue(1, { delay: 31 * 86_400_000 }),
    (kv) => kv.enqueue(1, { backoffSchedule: [1, 1, 1, 1, 1, 1] }),
    (kv) => kv.enqueue(1, { backoffSchedule: [5, 3_600_001] }),
    (kv) => kv.atomic().enqueue(1, { delay: -1 }),
    (kv) => kv.atomic().mutate({ type: "bogus", key: ["a"] }),
    (kv) => kv.atomic().mutate({ type: "delete", key: ["a"], value: 1 }),
    (kv) => kv.atomic().mutate({ type: "set", key: ["a"] }),
    (kv) => kv.atomic().mutate({ type: "set", key: ["a"], value: undefined }).commit(),
    (kv) => kv.atomic().check({ key: ["a"], versionstamp: 5 }).commit(),
    (kv) => kv.list({ prefix: [] }, { consistency: "bogus" }).next(),
    (kv) => kv.get(["a"], { consistency: "bogus" }),
    (kv) => kv.watch(Array.from({ length: 11 }, (_, i) => [i])),
    (kv) => kv.watch([[{}]]),
    (kv) => kv.list(undefined),
    (kv) => kv.set(["vs", kv.commitVersionstamp(), "x"], 1),
    (kv) => kv.delete(["vs", kv.commitVersionstamp()]),
    (kv) => kv.close(),
    (kv) => kv.get(["a"]),
    (kv) => kv.getMany([["a"]]),
    (kv) => kv.set(["a"], 1),
    (kv) => kv.delete(["a"]),
    (kv) => kv.list({ prefix: [] }).next(),
    (kv) => typeof kv.atomic(),
    (kv) => kv.atomic().set(["a"], 1).commit(),
    (kv) => kv.watch([["a"]]),
    (kv) => kv.enqueue(1),
    (kv) => kv.listenQueue(() => {}),
    (kv) => kv.close(),
  ],
  "16 versionstamps": [
    set(["s", 1]),
    (kv) => kv.delete(["s", 1]),
    (kv) => kv.atomic().commit(),
    (kv) => kv.atomic().set(["s", 2], 1).set(["s", 3], 2).commit(),
    (kv) => kv.getMany([["s", 2], ["s", 3]]),
    (kv) => kv.set(["s", kv.commitVersionstamp()], "suffixed"),
    (kv) => kv.atomic().set(["s", kv.commitVersionstamp()], "atomic suffixed").commit(),
    list({ prefix: ["s"] }),
  ],
  "17 watch": [
    set(["w", 1], "first"),
    async (kv) => {
      const stream = kv.watch([["w", 1], ["w", 2]]);
      const reader = stream.getReader();
      const out: string[] = [];
      const first = await reader.read();
      out.push(first.value.map((e: { value: unknown }) => String(e.value)).join("|"));
      await kv.delete(["w", "missing"]);
      await kv.set(["w", 2], "second");
      const second = await reader.read();
      out.push(second.value.map((e: { value: unknown }) => String(e.value)).join("|"));
      await reader.cancel();
      return out.join("\n");
    },
    async (kv) => {
      const reader = kv.watch([["w", 3]], { raw: true }).getReader();
      const first = await reader.read();
      await kv.delete(["w", 3]);
      const second = await reader.read();
      await reader.cancel();
      return `${first.value[0].value} then ${second.value[0].value}`;
    },
    (kv) => kv.watch([[]]) instanceof ReadableStream,
    // Deno's remote client never ends a watch of no keys (its local one ends it at once).
    localOnly(async (kv) => JSON.stringify(await kv.watch([]).getReader().read())),
    (kv) => kv.getMany([]),
  ],
};

/** Runs a case's steps on `kv`; one line per step. */
export async function transcript(kv: AnyKv, steps: Step[]): Promise<string> {
  const stamps = new Stamps();
  const lines: string[] = [];
  for (const [i, step] of steps.entries()) {
    lines.push(`${i}: ${await outcome(() => step(kv, stamps), stamps)}`);
  }
  return lines.join("\n");
}
