/**
 * Where the kernel thread's time goes under pgbench's TPC-B: boots ExoDB in this process
 * (`--profile exo` or `conventional`), loads pgbench's tables at scale 10, runs one warm-up and
 * then one measured `pgbench -b tpcb-like -M prepared` with V8's sampling profiler on (through
 * node:inspector), and prints the functions with the most self and inclusive samples. The
 * profile itself is written to bench/results/profile_tpcb_<profile>.cpuprofile (open it in
 * Chrome DevTools). The profiler slows the run; the tps it prints is for orientation only.
 *
 *   deno task bench:profile-tpcb [exo|conventional] [clients=8] [seconds=8] [tpcb|select]
 *
 * `select` profiles pgbench's select-only script (`-S`) instead: one point select per round
 * trip, so the wire, scheduler and NIC share of a statement stands out.
 */
import { Session } from "node:inspector/promises";
import { bootInProcess, loadPgbenchTables } from "./runner/in_process.ts";
import { loadArgs, pgbenchPath, timedPgbench } from "./runner/pgbench.ts";

const profile = Deno.args[0] === "conventional" ? "conventional" : "exo";
const clients = Number(Deno.args[1] ?? 8);
const seconds = Number(Deno.args[2] ?? 8);
const workload = Deno.args[3] === "select" ? "select" : "tpcb";
const script = workload === "select" ? ["-S"] : ["-b", "tpcb-like", "--max-tries=20"];
const topRows = 30;

/** One node of a V8 CPU profile (the fields used here). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const binary = pgbenchPath();
if (binary === undefined) {
  console.log("skipped: pgbench is not installed (apt-get install postgresql)");
  Deno.exit(0);
}
const dataDir = await Deno.makeTempDir({ prefix: "exodb-profile-" });
const db = await bootInProcess({ dataDir: `${dataDir}/data`, profile });
try {
  await loadPgbenchTables(db, 10);
  const args = (s: number) => [
    "-n",
    ...script,
    "-M",
    "prepared",
    ...loadArgs(clients, s),
  ];
  await timedPgbench(binary, db.target, args(3)); // warm-up: JIT and caches
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 }); // µs
  await session.post("Profiler.start");
  const run = await timedPgbench(binary, db.target, args(seconds));
  const { profile: cpuProfile } = await session.post("Profiler.stop");
  session.disconnect();
  const out = `bench/results/profile_${workload}_${profile}.cpuprofile`;
  Deno.writeTextFileSync(out, JSON.stringify(cpuProfile));
  console.log(
    `${profile}, ${clients} client(s), ${seconds} s, profiled: ${run.tps.toFixed(0)} tps, ` +
      `p50 ${run.p50Ms.toFixed(3)} ms, p99 ${run.p99Ms.toFixed(3)} ms; profile in ${out}`,
  );
  summarize(cpuProfile.nodes as ProfileNode[], cpuProfile.samples ?? []);
} finally {
  await db.stop();
  Deno.removeSync(dataDir, { recursive: true });
}

/** Prints the top functions by self samples and by inclusive samples (percent of all). */
function summarize(nodes: ProfileNode[], samples: number[]): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}:${
      n.callFrame.lineNumber + 1
    }`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const id of samples) {
    const leaf = label(byId.get(id)!);
    self.set(leaf, (self.get(leaf) ?? 0) + 1);
    // A recursive function counts once per sample in its inclusive figure.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    }
  }
  const print = (title: string, counts: Map<string, number>) => {
    console.log(`--- ${title} (of ${samples.length} samples)`);
    for (const [name, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, topRows)) {
      console.log(`${(100 * count / samples.length).toFixed(1).padStart(5)}%  ${name}`);
    }
  };
  print("self", self);
  print("inclusive", inclusive);
}
