/**
 * KV throughput, in-process and over KV Connect: ExoDB's openKv (memory and a data directory)
 * and ExoDB's KV Connect server (a real Deno remote client) beside Deno's built-in KV
 * (":memory:" and a SQLite file) in the same run, time slices interleaved with a rotating order
 * (see kv_measure.ts for the method). Operations: awaited set, awaited get, set with 100 in
 * flight, list (entries/s), atomic commits of 10 sets, check-and-set transactions; then atomic
 * commits of 10 sets from an app Worker over the task ring (each commit one task) beside the
 * same in-process on an ExoDB file handle, rounds interleaved (bench/_kv_ring_row.ts).
 *
 * Run: deno task bench:kv [--quick] [--only=NAME] [--rounds=N] [--slice-ms=MS] [--turn-ms=MS]
 *      [--no-kv-connect]
 *      [--json=FILE]
 * A full run writes bench/results/kv.json; --json writes the figures to FILE instead (the
 * `kv` suite of `exodb bench` runs this file in a child process, which has --unstable-kv).
 */
import { kvMarkdown, measureKv } from "./kv_measure.ts";
import { machineLine, saveResult } from "./harness.ts";
import { ringAtomicRow } from "./_kv_ring_row.ts";
import { medianOf } from "./kv_measure.ts";
import { openKv } from "../dbengine/kv/mod.ts";

function flag(name: string): string | undefined {
  return Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const quick = Deno.args.includes("--quick");
const rounds = Number(flag("rounds") ?? (quick ? 2 : 21));
const sliceMs = Number(flag("slice-ms") ?? (quick ? 40 : 300));
const turnMs = Number(flag("turn-ms") ?? 5);
const only = flag("only");
const json = flag("json");
const noKvConnect = Deno.args.includes("--no-kv-connect");

if (typeof Deno.openKv !== "function") {
  console.error("kv bench: Deno's KV is missing; run with --unstable-kv (deno task bench:kv)");
  Deno.exit(2);
}
console.error(
  `kv bench: ${machineLine()}; ${rounds} rounds (+1 warm-up) of ${sliceMs} ms per target in turns of ${turnMs} ms`,
);
const figures = await measureKv(
  { rounds, sliceMs, turnMs, ...(only !== undefined ? { only } : {}), noKvConnect },
  (workload, round) => console.error(`  ${workload}: round ${round}/${rounds}`),
);
const result: Record<string, unknown> = {
  machine: machineLine(),
  command: `deno task bench:kv ${Deno.args.join(" ")}`,
  ...figures,
};
if (only === undefined || "atomic of 10 sets, task ring".includes(only)) {
  result.taskRing = await taskRingRow();
}
console.log(kvMarkdown(figures));
if (json !== undefined) Deno.writeTextFileSync(json, JSON.stringify(result, null, 2) + "\n");
else if (!quick && only === undefined) console.log(`saved ${saveResult("kv", result)}`);

/** Atomic commits of 10 sets over the task ring vs in-process on one ExoDB file handle. */
async function taskRingRow(): Promise<Record<string, unknown>> {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kv-ring-bench-" });
  const kv = await openKv(`${dir}/exo`);
  try {
    const value = { name: "user", n: 12345, tags: ["a", "b"], active: true };
    const ringRounds = quick ? 2 : 7;
    const opsPerRound = quick ? 300 : 3000;
    const row = await ringAtomicRow(kv, dir, ringRounds, opsPerRound, async (from, count) => {
      for (let i = from; i < from + count / 5; i++) {
        const atomic = kv.atomic();
        for (let j = 0; j < 10; j++) atomic.set(["user", (i * 10 + j) % 5000], value);
        await atomic.commit();
      }
      return Math.floor(count / 5);
    });
    const ring = medianOf(row.ring);
    const blocking = medianOf(row.ringBlocking);
    const local = medianOf(row.inProcess);
    console.log(
      `\nAtomic of 10 sets from an app Worker over the task ring (${ringRounds} rounds): awaiting ${
        Math.round(ring).toLocaleString("en")
      }, blocking ${Math.round(blocking).toLocaleString("en")}, in-process ${
        Math.round(local).toLocaleString("en")
      } commits/s (ring / in-process ${(ring / local).toFixed(2)}×, ${
        (blocking / local).toFixed(2)
      }×)`,
    );
    return {
      unit: "commits/s",
      rounds: ringRounds,
      medians: {
        "exodb file, app Worker over the task ring (waitAsync)": Math.round(ring),
        "exodb file, app Worker over the task ring (Atomics.wait)": Math.round(blocking),
        "exodb file": Math.round(local),
      },
      rates: row,
    };
  } finally {
    kv.close();
    await kv.whenClosed();
    Deno.removeSync(dir, { recursive: true });
  }
}
