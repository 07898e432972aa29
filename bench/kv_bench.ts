/**
 * KV throughput, in-process and over KV Connect: ExoDB's openKv (memory and a data directory)
 * and ExoDB's KV Connect server (a real Deno remote client) beside Deno's built-in KV
 * (":memory:" and a SQLite file) in the same run, time slices interleaved with a rotating order
 * (see kv_measure.ts for the method). Operations: awaited set, awaited get, set with 100 in
 * flight, list (entries/s), atomic commits of 10 sets, check-and-set transactions.
 *
 * Run: deno task bench:kv [--quick] [--only=NAME] [--rounds=N] [--slice-ms=MS] [--turn-ms=MS]
 *      [--no-kv-connect]
 *      [--json=FILE]
 * A full run writes bench/results/kv.json; --json writes the figures to FILE instead (the
 * `kv` suite of `exodb bench` runs this file in a child process, which has --unstable-kv).
 */
import { kvMarkdown, measureKv } from "./kv_measure.ts";
import { machineLine, saveResult } from "./harness.ts";

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
const result = {
  machine: machineLine(),
  command: `deno task bench:kv ${Deno.args.join(" ")}`,
  ...figures,
};
console.log(kvMarkdown(figures));
if (json !== undefined) Deno.writeTextFileSync(json, JSON.stringify(result, null, 2) + "\n");
else if (!quick && only === undefined) console.log(`saved ${saveResult("kv", result)}`);
