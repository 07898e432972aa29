/**
 * KV throughput, in-process: ExoDB's openKv (memory and a data directory) beside Deno's
 * built-in KV (":memory:" and a SQLite file) in the same run, rounds interleaved (A B C D …) so
 * drift hits all alike. Operations: awaited set, awaited get, set with 100 in flight, list
 * (entries/s), atomic commits of 10 sets, check-and-set transactions (get + check + set); and
 * atomic commits of 10 sets from an app Worker over the task ring (each commit one task) beside
 * the same in-process on the "exodb file" handle (bench/_kv_ring_row.ts).
 * Run: deno task bench:kv [--quick]   (writes bench/results/kv.json)
 */
import { openKv } from "../dbengine/kv/mod.ts";
import { machineLine, saveResult } from "./harness.ts";
import { ringAtomicRow } from "./_kv_ring_row.ts";

const quick = Deno.args.includes("--quick");
/** `--only=set` runs the workloads whose name contains "set". */
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const opsPerRound = quick ? 300 : 3000;
const rounds = quick ? 3 : 7;
const value = { name: "user", n: 12345, tags: ["a", "b"], active: true };

// deno-lint-ignore no-explicit-any
type AnyKv = any;

interface Target {
  name: string;
  kv: AnyKv;
  close(): Promise<void>;
}

async function targets(dir: string): Promise<Target[]> {
  const exoMemory = await openKv(":memory:");
  const exoFile = await openKv(`${dir}/exo`);
  const denoMemory = await Deno.openKv(":memory:");
  const denoFile = await Deno.openKv(`${dir}/deno.sqlite`);
  const exoClose = (kv: AnyKv) => async () => {
    kv.close();
    await kv.whenClosed();
  };
  return [
    { name: "exodb memory", kv: exoMemory, close: exoClose(exoMemory) },
    { name: "exodb file", kv: exoFile, close: exoClose(exoFile) },
    { name: "deno memory", kv: denoMemory, close: () => Promise.resolve(denoMemory.close()) },
    { name: "deno file", kv: denoFile, close: () => Promise.resolve(denoFile.close()) },
  ];
}

/** One workload: `run` performs `count` operations starting at index `from`; returns ops done. */
interface Workload {
  name: string;
  unit: string;
  setup?: (kv: AnyKv) => Promise<void>;
  run: (kv: AnyKv, from: number, count: number) => Promise<number>;
}

const workloads: Workload[] = [
  {
    name: "set (awaited)",
    unit: "ops/s",
    run: async (kv, from, count) => {
      for (let i = from; i < from + count; i++) await kv.set(["user", i % 5000], value);
      return count;
    },
  },
  {
    name: "get (awaited)",
    unit: "ops/s",
    setup: async (kv) => {
      for (let i = 0; i < 5000; i += 100) {
        const atomic = kv.atomic();
        for (let j = i; j < i + 100; j++) atomic.set(["user", j], value);
        await atomic.commit();
      }
    },
    run: async (kv, from, count) => {
      for (let i = from; i < from + count; i++) await kv.get(["user", (i * 7919) % 5000]);
      return count;
    },
  },
  {
    name: "set, 100 in flight",
    unit: "ops/s",
    run: async (kv, from, count) => {
      for (let i = from; i < from + count; i += 100) {
        const batch = [];
        for (let j = i; j < Math.min(i + 100, from + count); j++) {
          batch.push(kv.set(["user", j % 5000], value));
        }
        await Promise.all(batch);
      }
      return count;
    },
  },
  {
    name: "list 100 entries",
    unit: "entries/s",
    run: async (kv, from, count) => {
      let entries = 0;
      for (let i = from; i < from + count / 10; i++) {
        const start = (i * 37) % 4900;
        for await (const _ of kv.list({ start: ["user", start], end: ["user", start + 100] })) {
          entries++;
        }
      }
      return entries;
    },
  },
  {
    name: "atomic of 10 sets",
    unit: "commits/s",
    run: async (kv, from, count) => {
      for (let i = from; i < from + count / 5; i++) {
        const atomic = kv.atomic();
        for (let j = 0; j < 10; j++) atomic.set(["user", (i * 10 + j) % 5000], value);
        await atomic.commit();
      }
      return Math.floor(count / 5);
    },
  },
  {
    name: "get + check + set",
    unit: "tx/s",
    run: async (kv, from, count) => {
      for (let i = from; i < from + count; i++) {
        const key = ["user", i % 5000];
        const entry = await kv.get(key);
        await kv.atomic().check(entry).set(key, value).commit();
      }
      return count;
    },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const dir = Deno.makeTempDirSync({ prefix: "exodb-kv-bench-" });
const results: Record<string, unknown> = {
  machine: machineLine(),
  opsPerRound,
  rounds,
  workloads: {} as Record<string, unknown>,
};
try {
  const all = await targets(dir);
  console.log(`kv bench: ${machineLine()}; ${rounds} rounds of ${opsPerRound} ops`);
  for (const workload of workloads) {
    if (only !== undefined && !workload.name.includes(only)) continue;
    for (const target of all) await workload.setup?.(target.kv);
    const rates = all.map(() => [] as number[]);
    let from = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [t, target] of all.entries()) {
        const started = performance.now();
        const done = await workload.run(target.kv, from, opsPerRound);
        rates[t]!.push(done / ((performance.now() - started) / 1000));
      }
      from += opsPerRound;
    }
    const medians = Object.fromEntries(all.map((t, i) => [t.name, Math.round(median(rates[i]!))]));
    (results.workloads as Record<string, unknown>)[workload.name] = {
      unit: workload.unit,
      medians,
    };
    const denoFile = medians["deno file"]!;
    console.log(
      `| ${workload.name.padEnd(20)} | ${
        all.map((t) => `${t.name} ${medians[t.name]!.toLocaleString("en")}`).join(" | ")
      } | exodb file / deno file ${
        (medians["exodb file"]! / denoFile).toFixed(2)
      }× | ${workload.unit}`,
    );
  }
  const atomic = workloads.find((w) => w.name === "atomic of 10 sets")!;
  if (only === undefined || atomic.name.includes(only) || "task ring".includes(only)) {
    const exoFile = all.find((t) => t.name === "exodb file")!.kv;
    const row = await ringAtomicRow(
      exoFile,
      dir,
      rounds,
      opsPerRound,
      (from, count) => atomic.run(exoFile, from, count),
    );
    const ring = Math.round(median(row.ring));
    const blocking = Math.round(median(row.ringBlocking));
    const local = Math.round(median(row.inProcess));
    (results.workloads as Record<string, unknown>)["atomic of 10 sets, task ring"] = {
      unit: atomic.unit,
      medians: {
        "exodb file, app Worker over the task ring (waitAsync)": ring,
        "exodb file, app Worker over the task ring (Atomics.wait)": blocking,
        "exodb file": local,
      },
    };
    console.log(
      `| ${"atomic, task ring".padEnd(20)} | app Worker over the task ring: awaiting ${
        ring.toLocaleString("en")
      }, blocking ${blocking.toLocaleString("en")} | exodb file in-process ${
        local.toLocaleString("en")
      } | ring / in-process ${(ring / local).toFixed(2)}×, ${
        (blocking / local).toFixed(2)
      }× | ${atomic.unit}`,
    );
  }
  for (const target of all) await target.close();
} finally {
  Deno.removeSync(dir, { recursive: true });
}
if (!quick) console.log(`saved ${saveResult("kv", results)}`);
