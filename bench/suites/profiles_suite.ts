/**
 * Suite 2, profiles: the same workloads against ExoDB booted with `--profile exo` (block I/O by
 * FFI and the I/O worker, group commit whose write → sync rides on the NIC's io_uring, the
 * statement log in a ring drained in the
 * background, responses corked per socket read) and `--profile conventional` (a runtime op per
 * block read/write, a sync per commit, a log line written per statement, a socket write per
 * protocol message): crossings per transaction by kind (hw/crossings.ts counters, read in this process,
 * where both appliances run), p50/p99 latency and throughput, driven by pgbench over loopback.
 * Runs alternate exo, conventional, conventional, exo, … so drift hits both.
 */
import { type CrossingKind, crossingKinds, crossings, diffCrossings } from "../../hw/crossings.ts";
import { bootInProcess, type InProcessExoDb, loadPgbenchTables } from "../runner/in_process.ts";
import { type EngineTpcbRun, runEngineTpcb } from "../runner/engine_tpcb.ts";
import { loadArgs, pgbenchPath, type PgbenchRun, timedPgbench } from "../runner/pgbench.ts";
import type { Suite, SummaryRow } from "../runner/suite.ts";
import { markdownTable, median } from "../runner/suite.ts";
import { cpuPerTxnUs, cpuSnapshot } from "../runner/thread_cpu.ts";

/** Parameters of one run. */
export interface ProfilesParams {
  scale: number;
  rounds: number;
  secondsPerRun: number;
  clients: number;
}

type Profile = "exo" | "conventional";
const profiles: Profile[] = ["exo", "conventional"];
const workloads = ["point select", "insert", "TPC-B", "TPC-B, pipelined"] as const;
type Workload = (typeof workloads)[number];

/** One workload on one profile. */
export interface ProfileRow {
  workload: Workload;
  profile: Profile;
  runs: PgbenchRun[];
  /** Crossings per transaction by kind, median over runs. */
  crossingsPerTxn: Record<CrossingKind, number>;
  /** All kinds but syscalls (which ride on an op or FFI call), per transaction. */
  totalPerTxn: number;
  /** The NIC's path ("io_uring" or "deno_tcp") and its socket calls per transaction, median. */
  nicPath?: string;
  socketCallsPerTxn?: number;
  /** CPU per transaction (µs, median over runs): the kernel thread's and the whole process's. */
  kernelThreadUsPerTxn?: number;
  processUsPerTxn?: number;
}

/** The TPC-B statements run in process without the wire (runner/engine_tpcb.ts), per profile. */
export interface EngineFloorRow {
  profile: Profile;
  runs: EngineTpcbRun[];
}

/** The suite's figures. */
export interface ProfilesFigures {
  skipped?: string;
  params: ProfilesParams;
  rows: ProfileRow[];
  /** Absent in reports from before it was measured. */
  engineFloor?: EngineFloorRow[];
}

const insertScript = [
  "\\set aid random(1, 100000 * :scale)",
  "\\set bid random(1, 1 * :scale)",
  "\\set tid random(1, 10 * :scale)",
  "\\set delta random(-5000, 5000)",
  "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);",
  "",
].join("\n");

/**
 * pgbench's tpcb-like transaction (its built-in script, statement for statement) sent as one
 * pipeline: libpq queues every statement and sends them with one Sync at \endpipeline, so the
 * server gets the whole transaction in one read and, corked, answers in one write.
 */
const pipelinedTpcbScript = [
  "\\set aid random(1, 100000 * :scale)",
  "\\set bid random(1, 1 * :scale)",
  "\\set tid random(1, 10 * :scale)",
  "\\set delta random(-5000, 5000)",
  "\\startpipeline",
  "BEGIN;",
  "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;",
  "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;",
  "UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;",
  "UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;",
  "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);",
  "END;",
  "\\endpipeline",
  "",
].join("\n");

/** The goals, exo over conventional, at 8 clients. */
const throughputGoals: Partial<Record<Workload, number>> = {
  "point select": 1.2,
  "TPC-B": 2,
  "TPC-B, pipelined": 2,
};
/** Conventional's crossings per TPC-B transaction over exo's: at least 10×. */
const crossingsGoal = 10;

/** Suite 2. */
export const profilesSuite: Suite<ProfilesParams, ProfilesFigures> = {
  name: "profiles",
  title: "Profiles: exo vs conventional",
  quick: { scale: 1, rounds: 1, secondsPerRun: 1, clients: 1 },
  // The goals are stated at 8 clients. Scale 10 ≥ clients, as pgbench's documentation
  // asks ("otherwise you'll mostly be measuring update contention"): at scale 1 every TPC-B
  // transaction updates the one branch row and waits for the last one's commit.
  full: { scale: 10, rounds: 3, secondsPerRun: 4, clients: 8 },
  steps: (p) => 2 + (workloads.length + 1) * p.rounds,
  async run(params, context) {
    const binary = pgbenchPath();
    const figures: ProfilesFigures = { params, rows: [] };
    if (binary === undefined) {
      figures.skipped = "pgbench is not installed (apt-get install postgresql)";
      return { figures, markdown: `Skipped: ${figures.skipped}.`, charts: [], summary: [] };
    }
    const scriptPath = `${context.workDir}/insert.sql`;
    Deno.writeTextFileSync(scriptPath, insertScript);
    const pipelinedPath = `${context.workDir}/tpcb_pipelined.sql`;
    Deno.writeTextFileSync(pipelinedPath, pipelinedTpcbScript);
    const servers = new Map<Profile, InProcessExoDb>();
    try {
      for (const profile of profiles) {
        context.progress.note(`loading pgbench tables (scale ${params.scale}) on ${profile}`);
        const dataDir = `${context.workDir}/${profile}`;
        Deno.mkdirSync(dataDir);
        const db = await bootInProcess({ dataDir, profile });
        servers.set(profile, db);
        await loadPgbenchTables(db, params.scale);
        context.progress.step(`loaded ${profile}`);
      }
      const samples = new Map<
        string,
        {
          runs: PgbenchRun[];
          perTxn: Record<string, number[]>;
          socketCalls: number[];
          nic: string;
          kernelUs: number[];
          processUs: number[];
        }
      >();
      for (const workload of workloads) {
        const args = [
          "-n",
          ...(workload === "point select"
            ? ["-S"]
            : workload === "insert"
            ? ["-f", scriptPath, "-D", `scale=${params.scale}`]
            : workload === "TPC-B"
            ? ["-b", "tpcb-like", "--max-tries=20"]
            : ["-f", pipelinedPath, "-D", `scale=${params.scale}`]),
          "-M",
          "prepared",
          ...loadArgs(params.clients, params.secondsPerRun),
        ];
        // An unrecorded run per profile first: JIT and caches warm for both alike.
        for (const profile of profiles) {
          context.progress.note(`${workload} on ${profile}: warm-up`);
          await timedPgbench(binary, servers.get(profile)!.target, args);
        }
        for (let round = 0; round < params.rounds; round++) {
          const order = round % 2 === 0 ? profiles : [...profiles].reverse();
          for (const profile of order) {
            context.progress.note(`${workload} on ${profile}, round ${round + 1}`);
            const nic = servers.get(profile)!.appliance.listener;
            const nicBefore = nic.stats();
            const before = crossings.snapshot();
            const cpuBefore = cpuSnapshot();
            const run = await timedPgbench(binary, servers.get(profile)!.target, args);
            const cpu = cpuPerTxnUs(cpuBefore, cpuSnapshot(), run.transactions);
            const used = diffCrossings(crossings.snapshot(), before);
            const nicAfter = nic.stats();
            const key = `${workload}|${profile}`;
            const entry = samples.get(key) ??
              { runs: [], perTxn: {}, socketCalls: [], nic: "", kernelUs: [], processUs: [] };
            entry.runs.push(run);
            entry.kernelUs.push(cpu.kernelThreadUs);
            entry.processUs.push(cpu.processUs);
            entry.nic = nicAfter.path;
            entry.socketCalls.push(
              (nicAfter.socketCalls - nicBefore.socketCalls) / Math.max(1, run.transactions),
            );
            for (const kind of crossingKinds) {
              (entry.perTxn[kind] ??= []).push(used[kind].count / Math.max(1, run.transactions));
            }
            samples.set(key, entry);
          }
          context.progress.step(`${workload} round ${round + 1}`);
        }
      }
      // The engine's floor: the TPC-B statements through SqlSession in process, no wire.
      const floor = new Map<Profile, EngineTpcbRun[]>(profiles.map((p) => [p, []]));
      for (const profile of profiles) {
        await runEngineTpcb(servers.get(profile)!, params.scale, params.clients, 1); // warm-up
      }
      for (let round = 0; round < params.rounds; round++) {
        const order = round % 2 === 0 ? profiles : [...profiles].reverse();
        for (const profile of order) {
          context.progress.note(`TPC-B in process (no wire) on ${profile}, round ${round + 1}`);
          floor.get(profile)!.push(
            await runEngineTpcb(
              servers.get(profile)!,
              params.scale,
              params.clients,
              params.secondsPerRun,
            ),
          );
        }
        context.progress.step(`TPC-B in process round ${round + 1}`);
      }
      figures.engineFloor = profiles.map((profile) => ({ profile, runs: floor.get(profile)! }));
      for (const workload of workloads) {
        for (const profile of profiles) {
          const entry = samples.get(`${workload}|${profile}`)!;
          const perTxn = Object.fromEntries(
            crossingKinds.map((k) => [k, median(entry.perTxn[k]!)]),
          ) as Record<CrossingKind, number>;
          figures.rows.push({
            workload,
            profile,
            runs: entry.runs,
            crossingsPerTxn: perTxn,
            nicPath: entry.nic,
            socketCallsPerTxn: median(entry.socketCalls),
            kernelThreadUsPerTxn: median(entry.kernelUs),
            processUsPerTxn: median(entry.processUs),
            totalPerTxn: crossingKinds.filter((k) => k !== "syscall").reduce(
              (sum, k) => sum + perTxn[k],
              0,
            ),
          });
        }
      }
    } finally {
      for (const db of servers.values()) await db.stop();
    }
    return { figures, ...profilesSuite.render!(figures) };
  },
  render: (figures) => ({
    markdown: profilesMarkdown(figures),
    charts: [{
      kind: "bar",
      file: "profiles_crossings.svg",
      title: "Crossings per transaction (all kinds but syscalls)",
      unit: "crossings per transaction",
      bars: figures.rows.map((r) => ({
        label: `${r.workload}, ${r.profile}`,
        value: r.totalPerTxn,
      })),
    }],
    summary: profilesSummary(figures),
  }),
};

const fmt = (n: number, digits = 0) => Number.isFinite(n) ? n.toFixed(digits) : "n/a";
const tpsOf = (r: ProfileRow) => median(r.runs.map((x) => x.tps));

function profilesSummary(f: ProfilesFigures): SummaryRow[] {
  const atGoalClients = f.params.clients === 8;
  return workloads.flatMap((workload) => {
    const exo = f.rows.find((r) => r.workload === workload && r.profile === "exo");
    const conventional = f.rows.find((r) =>
      r.workload === workload && r.profile === "conventional"
    );
    if (exo === undefined || conventional === undefined) return []; // a report from before
    const throughputGoal = atGoalClients ? throughputGoals[workload] : undefined;
    const crossingGoal = atGoalClients && workload.startsWith("TPC-B") ? crossingsGoal : undefined;
    const rows: SummaryRow[] = [{
      metric: `profiles, ${workload}: exo / conventional TPS`,
      value: `${fmt(tpsOf(exo))} vs ${fmt(tpsOf(conventional))} tps`,
      ratio: tpsOf(exo) / tpsOf(conventional),
      ...(throughputGoal === undefined ? {} : { goal: throughputGoal }),
    }, {
      metric: `profiles, ${workload}: conventional / exo crossings per transaction`,
      value: `${fmt(conventional.totalPerTxn, 1)} vs ${fmt(exo.totalPerTxn, 1)} crossings/txn`,
      ratio: conventional.totalPerTxn / exo.totalPerTxn,
      ...(crossingGoal === undefined ? {} : { goal: crossingGoal }),
    }];
    const exoUs = exo.kernelThreadUsPerTxn;
    const conventionalUs = conventional.kernelThreadUsPerTxn;
    if (workload.startsWith("TPC-B") && exoUs !== undefined && conventionalUs !== undefined) {
      rows.push({
        metric: `profiles, ${workload}: conventional / exo kernel-thread CPU per transaction`,
        value: `${fmt(conventionalUs)} vs ${fmt(exoUs)} µs/txn`,
        ratio: conventionalUs / exoUs,
      });
    }
    return rows;
  });
}

/**
 * The engine's floor beside the wire figures: a TPC-B transaction's kernel-thread time split
 * into the engine's part (in process, no wire) and the rest (wire, session, NIC), per profile.
 */
function engineFloorMarkdown(f: ProfilesFigures): string[] {
  if (f.engineFloor === undefined) return [];
  const kernelUs = (profile: Profile) =>
    f.rows.find((r) => r.workload === "TPC-B" && r.profile === profile)?.kernelThreadUsPerTxn ??
      NaN;
  const floorUs = (row: EngineFloorRow) => median(row.runs.map((r) => r.kernelThreadUs));
  const rows = f.engineFloor.map((row) => [
    row.profile,
    fmt(median(row.runs.map((r) => r.tps))),
    fmt(floorUs(row)),
    fmt(median(row.runs.map((r) => r.processUs))),
    fmt(kernelUs(row.profile)),
    fmt(kernelUs(row.profile) - floorUs(row)),
  ]);
  return [
    "",
    "**The engine's floor.** The same TPC-B statements, parameters and clients run through",
    "SqlSession inside the benchmark process (bench/runner/engine_tpcb.ts): no wire protocol, no",
    "socket, no scheduler grant per statement. Its kernel-thread time per transaction is what each",
    "profile pays for the engine itself (the conventional one with its block ops and a sync per",
    "commit); the rest of pgbench's figure is the wire, the session and the NIC. Throughput over",
    "pgbench is bound by the kernel thread, so exo/conventional TPS follows the ratio of their",
    "kernel-thread µs per transaction.",
    "",
    markdownTable([
      "profile",
      "in-process tps",
      "kernel thread µs/txn (engine)",
      "process µs/txn",
      "pgbench TPC-B kernel thread µs/txn",
      "of which wire, session, NIC",
    ], rows),
  ];
}

function profilesMarkdown(f: ProfilesFigures): string {
  const kinds = crossingKinds;
  const rows = f.rows.map((r) => [
    r.workload,
    r.profile,
    fmt(tpsOf(r)),
    fmt(median(r.runs.map((x) => x.p50Ms)), 3),
    fmt(median(r.runs.map((x) => x.p99Ms)), 3),
    fmt(r.totalPerTxn, 1),
    ...kinds.map((k) => fmt(r.crossingsPerTxn[k], 2)),
    r.nicPath === undefined ? "n/a" : `${r.nicPath}, ${fmt(r.socketCallsPerTxn ?? NaN, 2)}`,
    fmt(r.kernelThreadUsPerTxn ?? NaN),
    fmt(r.processUsPerTxn ?? NaN),
  ]);
  return [
    `Both profiles boot inside the benchmark process on pgbench's tables at scale ${f.params.scale}`,
    `(loaded with INSERT … SELECT generate_series); pgbench \`-M prepared\`, ${f.params.clients}`,
    `client(s), ${f.params.rounds} round(s) of ${f.params.secondsPerRun} s, alternating profiles,`,
    "after one unrecorded warm-up run per profile and workload.",
    "Insert is one `INSERT INTO pgbench_history` per transaction; TPC-B is pgbench's tpcb-like;",
    "TPC-B, pipelined is the same seven statements between `\\startpipeline` and `\\endpipeline`",
    "(one Sync per transaction: the whole transaction reaches the server in one piece).",
    `Scale ${f.params.scale} ≥ clients, as pgbench's documentation asks, so TPC-B measures the`,
    "profiles rather than contention on one branch row.",
    "Crossings are the server's, counted by hw/crossings.ts (pgbench's own are not in them),",
    "including background work (checkpoints) during the run; syscalls ride on ops and FFI calls.",
    "Exo's NIC is io_uring (`--net-path ring`, hw/net_uring.ts): a receive or send is a ring entry,",
    "not a crossing; what the kernel thread pays for sockets is its `io_uring_enter` calls (an FFI",
    "call each, one per kernel turn for every connection's entries, corked up to 0.1 ms while the",
    "scheduler is busy) and, when idle, a wait for the next completion on Deno's blocking pool (an",
    "FFI call and a thread hop). The last column gives the NIC and its socket calls per",
    "transaction (runtime ops on Deno's TCP, enters on io_uring).",
    "",
    markdownTable([
      "workload",
      "profile",
      "tps",
      "p50 ms",
      "p99 ms",
      "crossings/txn",
      ...kinds.map((k) => `${k}/txn`),
      "NIC, socket calls/txn",
      "kernel thread µs/txn",
      "process µs/txn",
    ], rows),
    "",
    "![crossings per transaction](profiles_crossings.svg)",
    ...engineFloorMarkdown(f),
  ].join("\n");
}
