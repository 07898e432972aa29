/**
 * A small, honest measurement harness for side-by-side comparisons on a shared machine:
 * candidates run interleaved (A B C A B C …) so drift hits all of them alike; each sample times
 * a batch long enough to dwarf the clock's resolution; the report gives the median per-operation
 * time, a 95% confidence half-width of the mean, and ratios against a named baseline.
 */

/** One thing to measure: `run(i)` performs operation number i once. */
export interface Candidate {
  name: string;
  run: (i: number) => unknown;
  /** Bytes one operation processes, for throughput. */
  bytesPerOp?: number;
  /** Operations one `run` call performs (a batched call doing 16 blocks says 16). */
  opsPerRun?: number;
}

/** Figures for one candidate. */
export interface Measurement {
  name: string;
  samples: number;
  /** Median nanoseconds per operation across samples. */
  medianNs: number;
  meanNs: number;
  /** 95% confidence half-width of the mean, in nanoseconds. */
  ci95Ns: number;
  /** Bytes per second at the median, when bytesPerOp was given. */
  gbPerSecond?: number;
}

/** Options for {@link compare}. */
export interface CompareOptions {
  /** Samples per candidate. */
  samples?: number;
  /** Target duration of one sample, in milliseconds. */
  sampleMs?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Measures every candidate, interleaved. */
export function compare(candidates: Candidate[], options: CompareOptions = {}): Measurement[] {
  const samples = options.samples ?? 15;
  const sampleMs = options.sampleMs ?? 40;
  // Calibrate: how many runs fill one sample (after a warm-up that lets the JIT settle).
  const runsPerSample = candidates.map((candidate) => {
    let runs = 1;
    let i = 0;
    for (;;) {
      const started = performance.now();
      for (let r = 0; r < runs; r++) candidate.run(i++);
      const elapsed = performance.now() - started;
      if (elapsed >= sampleMs / 4 || runs >= 1 << 24) {
        return Math.max(1, Math.round(runs * (sampleMs / Math.max(elapsed, 0.001))));
      }
      runs *= 2;
    }
  });
  const perOpNs: number[][] = candidates.map(() => []);
  let counter = 0;
  for (let s = 0; s < samples; s++) {
    candidates.forEach((candidate, c) => {
      const runs = runsPerSample[c]!;
      const started = performance.now();
      for (let r = 0; r < runs; r++) candidate.run(counter++);
      const elapsedNs = (performance.now() - started) * 1e6;
      perOpNs[c]!.push(elapsedNs / (runs * (candidate.opsPerRun ?? 1)));
    });
  }
  return candidates.map((candidate, c) => summarize(candidate, perOpNs[c]!));
}

/** Candidates whose operation is asynchronous (a SQL statement, a network round trip). */
export interface AsyncCandidate {
  name: string;
  run: (i: number) => Promise<unknown>;
  opsPerRun?: number;
}

/**
 * {@link compare} for asynchronous operations: each run is awaited before the next, samples
 * interleave the candidates, and every sample lasts about `sampleMs`.
 */
export async function compareAsync(
  candidates: AsyncCandidate[],
  options: CompareOptions = {},
): Promise<Measurement[]> {
  const samples = options.samples ?? 15;
  const sampleMs = options.sampleMs ?? 40;
  let counter = 0;
  for (const candidate of candidates) {
    const warmUntil = performance.now() + sampleMs; // JIT warm-up and caches
    while (performance.now() < warmUntil) await candidate.run(counter++);
  }
  const perOpNs: number[][] = candidates.map(() => []);
  for (let s = 0; s < samples; s++) {
    for (const [c, candidate] of candidates.entries()) {
      let runs = 0;
      const started = performance.now();
      const until = started + sampleMs;
      do {
        await candidate.run(counter++);
        runs++;
      } while (performance.now() < until);
      const elapsedNs = (performance.now() - started) * 1e6;
      perOpNs[c]!.push(elapsedNs / (runs * (candidate.opsPerRun ?? 1)));
    }
  }
  return candidates.map((candidate, c) => summarize(candidate, perOpNs[c]!));
}

/** Median, mean and 95% half-width of per-operation samples (ns), as a {@link Measurement}. */
export function summarize(
  candidate: { name: string; bytesPerOp?: number },
  values: number[],
): Measurement {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) /
    Math.max(1, values.length - 1);
  const medianNs = median(values);
  const measurement: Measurement = {
    name: candidate.name,
    samples: values.length,
    medianNs,
    meanNs: mean,
    ci95Ns: 1.96 * Math.sqrt(variance / values.length),
  };
  if (candidate.bytesPerOp !== undefined) {
    measurement.gbPerSecond = candidate.bytesPerOp / medianNs; // bytes/ns = GB/s
  }
  return measurement;
}

/** A Markdown table of measurements with ratios against `baseline`. */
export function table(measurements: Measurement[], baseline: string): string {
  const base = measurements.find((m) => m.name === baseline);
  const lines = [
    "| candidate | median per op | ±95% | GB/s | vs " + baseline + " |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const m of measurements) {
    const ratio = base ? (base.medianNs / m.medianNs).toFixed(2) + "×" : "";
    const gb = m.gbPerSecond === undefined ? "" : m.gbPerSecond.toFixed(2);
    lines.push(
      `| ${m.name} | ${formatNs(m.medianNs)} | ${formatNs(m.ci95Ns)} | ${gb} | ${ratio} |`,
    );
  }
  return lines.join("\n");
}

/** Nanoseconds in a readable unit. */
export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

/** Writes `data` as JSON under bench/results/. */
export function saveResult(name: string, data: unknown): string {
  const path = new URL(`./results/${name}.json`, import.meta.url).pathname;
  Deno.mkdirSync(new URL("./results/", import.meta.url).pathname, { recursive: true });
  Deno.writeTextFileSync(path, JSON.stringify(data, null, 2) + "\n");
  return path;
}

/** A line describing the machine, for every report. */
export function machineLine(): string {
  const cpus = navigator.hardwareConcurrency;
  const memGiB = (Deno.systemMemoryInfo().total / 1024 ** 3).toFixed(0);
  return `${Deno.build.os} ${Deno.build.arch}, ${cpus} cores, ${memGiB} GiB, Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
}
