/**
 * The KV throughput measurement behind `deno task bench:kv` and the `kv` suite of
 * `deno task exodb bench`: ExoDB's openKv (memory and a data directory), ExoDB's KV Connect
 * server on a data directory reached by Deno's own remote client, and Deno's built-in KV
 * (":memory:" and a SQLite file), all in one process and one run. Needs `--unstable-kv`.
 *
 * Method (for a shared, noisy machine):
 * - Every workload runs in rounds; in a round the targets take turns of `turnMs` (a few ms:
 *   operations back to back), the next turn always going to the target that has run least so
 *   far, until each has run for `sliceMs`. So all targets go through the same phases of the
 *   machine (fsync latency on a shared disk swings by 10× within a second) and take turns in
 *   every order. Round 0 is a warm-up, not counted.
 * - A target's figure is the median of its per-round rates, with the quartiles as spread.
 * - The ratio against Deno's file KV is taken per round (both ran in the same time window) and
 *   summarised by its median, its range, the rounds at or above 1, and a 95%
 *   distribution-free confidence interval of the median (order statistics of the binomial).
 */
import { openKv } from "../dbengine/kv/mod.ts";
import { serveKvConnect } from "../kernel/kv_connect.ts";

// deno-lint-ignore no-explicit-any
type AnyKv = any;

/** Parameters of one measurement. */
export interface KvMeasureParams {
  /** Counted rounds (a warm-up round runs first). */
  rounds: number;
  /** Time each target runs in one round, in ms, made of turns of `turnMs`. */
  sliceMs: number;
  /**
   * One turn: a target runs operations for this long (at least one), then the next target
   * takes over. Short turns put every target under the same machine conditions (fsync latency
   * on a shared disk swings within seconds); a turn still runs several operations back to back.
   */
  turnMs: number;
  /** Only workloads whose name contains this. */
  only?: string;
  /** Leave out the KV Connect target. */
  noKvConnect?: boolean;
}

/** One target's figures for one workload. */
export interface TargetFigures {
  /** Rate per counted round, in the workload's unit, in round order. */
  rates: number[];
  median: number;
  p25: number;
  p75: number;
}

/** The per-round ratio of one target to the baseline. */
export interface RatioFigures {
  median: number;
  min: number;
  max: number;
  /** 95% confidence interval of the median ratio (order statistics). */
  ci95: [number, number];
  /** Rounds in which the target was at least as fast as the baseline. */
  roundsAtLeastOne: number;
  rounds: number;
}

/** One workload's figures. */
export interface WorkloadFigures {
  name: string;
  unit: string;
  targets: Record<string, TargetFigures>;
  /** Per-round ratio of each ExoDB target to "deno file". */
  vsDenoFile: Record<string, RatioFigures>;
}

/** The whole measurement. */
export interface KvFigures {
  rounds: number;
  sliceMs: number;
  turnMs: number;
  targets: string[];
  workloads: WorkloadFigures[];
}

/** The baseline every ratio is taken against. */
export const baselineTarget = "deno file";

const value = { name: "user", n: 12345, tags: ["a", "b"], active: true };
/** Keys the workloads touch: ["user", 0] … ["user", keyCount - 1]. */
const keyCount = 5000;

interface Target {
  name: string;
  kv: AnyKv;
  close(): Promise<void>;
}

async function openTargets(dir: string, withKvConnect: boolean): Promise<Target[]> {
  const exoMemory = await openKv(":memory:");
  const exoFile = await openKv(`${dir}/exo`);
  const denoMemory = await Deno.openKv(":memory:");
  const denoFile = await Deno.openKv(`${dir}/deno.sqlite`);
  const exoClose = (kv: AnyKv) => async () => {
    kv.close();
    await kv.whenClosed();
  };
  const targets: Target[] = [
    { name: "exodb memory", kv: exoMemory, close: exoClose(exoMemory) },
    { name: "exodb file", kv: exoFile, close: exoClose(exoFile) },
    { name: "deno file", kv: denoFile, close: () => Promise.resolve(denoFile.close()) },
    { name: "deno memory", kv: denoMemory, close: () => Promise.resolve(denoMemory.close()) },
  ];
  if (withKvConnect) {
    const accessToken = crypto.randomUUID();
    const server = await serveKvConnect({ path: `${dir}/exo-remote`, accessToken });
    const previous = Deno.env.get("DENO_KV_ACCESS_TOKEN");
    Deno.env.set("DENO_KV_ACCESS_TOKEN", accessToken);
    const remote = await Deno.openKv(server.url);
    if (previous === undefined) Deno.env.delete("DENO_KV_ACCESS_TOKEN");
    else Deno.env.set("DENO_KV_ACCESS_TOKEN", previous);
    targets.push({
      name: "exodb file via KV Connect",
      kv: remote,
      close: async () => {
        remote.close();
        await server.shutdown();
      },
    });
  }
  return targets;
}

/** One workload: `step` performs one operation (numbered `i`) and returns units done. */
interface Workload {
  name: string;
  unit: string;
  setup?: (kv: AnyKv) => Promise<void>;
  step: (kv: AnyKv, i: number) => Promise<number>;
}

const workloads: Workload[] = [
  {
    name: "set (awaited)",
    unit: "ops/s",
    step: async (kv, i) => {
      await kv.set(["user", i % keyCount], value);
      return 1;
    },
  },
  {
    name: "get (awaited)",
    unit: "ops/s",
    setup: async (kv) => {
      for (let i = 0; i < keyCount; i += 100) {
        const atomic = kv.atomic();
        for (let j = i; j < i + 100; j++) atomic.set(["user", j], value);
        await atomic.commit();
      }
    },
    step: async (kv, i) => {
      await kv.get(["user", (i * 7919) % keyCount]);
      return 1;
    },
  },
  {
    name: "set, 100 in flight",
    unit: "ops/s",
    step: async (kv, i) => {
      const batch = [];
      for (let j = 0; j < 100; j++) batch.push(kv.set(["user", (i * 100 + j) % keyCount], value));
      await Promise.all(batch);
      return 100;
    },
  },
  {
    name: "list 100 entries",
    unit: "entries/s",
    step: async (kv, i) => {
      let entries = 0;
      const start = (i * 37) % (keyCount - 100);
      for await (const _ of kv.list({ start: ["user", start], end: ["user", start + 100] })) {
        entries++;
      }
      return entries;
    },
  },
  {
    name: "atomic of 10 sets",
    unit: "commits/s",
    step: async (kv, i) => {
      const atomic = kv.atomic();
      for (let j = 0; j < 10; j++) atomic.set(["user", (i * 10 + j) % keyCount], value);
      await atomic.commit();
      return 1;
    },
  },
  {
    name: "get + check + set",
    unit: "tx/s",
    step: async (kv, i) => {
      const key = ["user", i % keyCount];
      const entry = await kv.get(key);
      await kv.atomic().check(entry).set(key, value).commit();
      return 1;
    },
  },
];

/** The names of every workload, in run order. */
export const workloadNames: string[] = workloads.map((w) => w.name);

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Median of a non-empty list. */
export function medianOf(values: readonly number[]): number {
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Linear-interpolated quantile (0–1) of a non-empty list. */
export function quantileOf(values: readonly number[], q: number): number {
  const s = sorted(values);
  const at = q * (s.length - 1);
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return s[low]! + (s[high]! - s[low]!) * (at - low);
}

function binomialCdf(k: number, n: number): number {
  // P(X <= k) for X ~ Binomial(n, 1/2).
  let sum = 0;
  let term = 0.5 ** n; // C(n, 0) / 2^n
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = term * (n - i) / (i + 1);
  }
  return sum;
}

/**
 * A distribution-free 95% confidence interval of the median: the order statistics
 * x(j) ≤ median ≤ x(n+1-j) with the largest j whose coverage 1 − 2·P(X ≤ j−1) is ≥ 0.95
 * (X ~ Binomial(n, ½)). With fewer than 6 values no such j exists and the range is returned.
 */
export function medianCi95(values: readonly number[]): [number, number] {
  const s = sorted(values);
  const n = s.length;
  let j = 0;
  while (j + 1 <= n / 2 && 1 - 2 * binomialCdf(j, n) >= 0.95) j++;
  if (j === 0) return [s[0]!, s[n - 1]!];
  return [s[j - 1]!, s[n - j]!];
}

function ratioFigures(ratios: number[]): RatioFigures {
  const s = sorted(ratios);
  return {
    median: medianOf(s),
    min: s[0]!,
    max: s[s.length - 1]!,
    ci95: medianCi95(s),
    roundsAtLeastOne: s.filter((r) => r >= 1).length,
    rounds: s.length,
  };
}

/** Runs the measurement; `onRound` is told after every round (for progress output). */
export async function measureKv(
  params: KvMeasureParams,
  onRound: (workload: string, round: number) => void = () => {},
): Promise<KvFigures> {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-kv-bench-" });
  const figures: KvFigures = {
    rounds: params.rounds,
    sliceMs: params.sliceMs,
    turnMs: params.turnMs,
    targets: [],
    workloads: [],
  };
  try {
    const targets = await openTargets(dir, !params.noKvConnect);
    figures.targets = targets.map((t) => t.name);
    try {
      for (const workload of workloads) {
        if (params.only !== undefined && !workload.name.includes(params.only)) continue;
        for (const target of targets) await workload.setup?.(target.kv);
        figures.workloads.push(await measureWorkload(workload, targets, params, onRound));
      }
    } finally {
      for (const target of targets) await target.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  return figures;
}

async function measureWorkload(
  workload: Workload,
  targets: Target[],
  params: KvMeasureParams,
  onRound: (workload: string, round: number) => void,
): Promise<WorkloadFigures> {
  const rates = targets.map(() => [] as number[]);
  const next = targets.map(() => 0); // each target's next operation number
  // Fair share: the next turn always goes to the target that has run the least so far in this
  // round, so all targets advance through the round together (a slow operation — 100 sets into
  // a file — gets fewer, longer turns at the same pace) until each has run `sliceMs`.
  for (let round = 0; round <= params.rounds; round++) {
    const units = targets.map(() => 0);
    const busyMs = targets.map(() => 0);
    for (;;) {
      let t = 0;
      for (let c = 1; c < targets.length; c++) if (busyMs[c]! < busyMs[t]!) t = c;
      if (busyMs[t]! >= params.sliceMs) break;
      const target = targets[t]!;
      let i = next[t]!;
      const started = performance.now();
      const until = started + params.turnMs;
      let now = started;
      do {
        units[t]! += await workload.step(target.kv, i++);
        now = performance.now();
      } while (now < until);
      next[t] = i;
      busyMs[t]! += now - started;
    }
    if (round > 0) targets.forEach((_, t) => rates[t]!.push(units[t]! / (busyMs[t]! / 1000)));
    onRound(workload.name, round);
  }
  const byName: Record<string, TargetFigures> = {};
  targets.forEach((target, t) => {
    const r = rates[t]!;
    byName[target.name] = {
      rates: r.map((x) => Math.round(x)),
      median: medianOf(r),
      p25: quantileOf(r, 0.25),
      p75: quantileOf(r, 0.75),
    };
  });
  const base = targets.findIndex((t) => t.name === baselineTarget);
  const vsDenoFile: Record<string, RatioFigures> = {};
  targets.forEach((target, t) => {
    if (!target.name.startsWith("exodb")) return;
    const ratios = rates[t]!.map((rate, round) => rate / rates[base]![round]!);
    vsDenoFile[target.name] = ratioFigures(ratios);
  });
  return { name: workload.name, unit: workload.unit, targets: byName, vsDenoFile };
}

function formatRate(value: number): string {
  return Math.round(value).toLocaleString("en");
}

/** The figures as Markdown: rates with quartiles, then the ratios to Deno's file KV. */
export function kvMarkdown(figures: KvFigures): string {
  const lines: string[] = [];
  lines.push(
    `| workload | ${figures.targets.join(" | ")} |`,
    `|---|${figures.targets.map(() => "---:").join("|")}|`,
  );
  for (const w of figures.workloads) {
    const cells = figures.targets.map((name) => {
      const t = w.targets[name]!;
      return `${formatRate(t.median)} (${formatRate(t.p25)}–${formatRate(t.p75)})`;
    });
    lines.push(`| ${w.name}, ${w.unit} | ${cells.join(" | ")} |`);
  }
  const exo = figures.targets.filter((n) => n.startsWith("exodb"));
  lines.push(
    "",
    `Per-round ratio to ${baselineTarget} (median [95% CI of the median], range, rounds ≥ 1):`,
    "",
    `| workload | ${exo.join(" | ")} |`,
    `|---|${exo.map(() => "---:").join("|")}|`,
  );
  for (const w of figures.workloads) {
    const cells = exo.map((name) => {
      const r = w.vsDenoFile[name]!;
      return `**${r.median.toFixed(2)}×** [${r.ci95[0].toFixed(2)}–${r.ci95[1].toFixed(2)}], ${
        r.min.toFixed(2)
      }–${r.max.toFixed(2)}, ${r.roundsAtLeastOne}/${r.rounds}`;
    });
    lines.push(`| ${w.name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
