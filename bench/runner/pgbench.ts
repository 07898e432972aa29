/**
 * pgbench against ExoDB and PostgreSQL: finding the binary, starting ExoDB as a separate process
 * through its CLI (as a user runs it), running pgbench with per-transaction logs and reading TPS
 * and latency percentiles back. Shared by bench/pgbench_bench.ts and the bench suites.
 */
import { findPgBinDir, freePort } from "../../tests/_support/pg_cluster.ts";
import { quantile } from "./suite.ts";

/** A server pgbench connects to, by its libpq environment. */
export interface PgbenchTarget {
  name: string;
  env: Record<string, string>;
}

/** The pgbench binary, or undefined when PostgreSQL's client tools are not installed. */
export function pgbenchPath(): string | undefined {
  const dir = findPgBinDir();
  for (const candidate of [dir && `${dir}/pgbench`, "/usr/bin/pgbench"]) {
    if (!candidate) continue;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * pgbench's load arguments: `clients` connections for `seconds`, on at most two threads (these
 * machines have two cores, and pgbench needs no more threads than clients).
 */
export function loadArgs(clients: number, seconds: number): string[] {
  return ["-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(seconds)];
}

/** Runs pgbench; throws with its output when it fails. */
export async function pgbench(
  binary: string,
  target: PgbenchTarget,
  args: string[],
): Promise<string> {
  const output = await new Deno.Command(binary, {
    args,
    env: target.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`pgbench ${args.join(" ")} on ${target.name}:\n${text}`);
  return text;
}

/** TPS from pgbench's summary; throws when a transaction failed. */
export function parseTps(output: string): number {
  const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
  if (match === null) throw new Error(`no tps in pgbench output:\n${output}`);
  if (!/number of failed transactions: 0 /.test(output)) {
    throw new Error(`failed transactions:\n${output}`);
  }
  return Number(match[1]);
}

/** One timed pgbench run's figures. */
export interface PgbenchRun {
  tps: number;
  transactions: number;
  p50Ms: number;
  p99Ms: number;
  /** Transactions pgbench retried after a deadlock or serialization failure (--max-tries). */
  retried: number;
  /** Transactions that failed even after retries (pgbench's "failed transactions"). */
  failed: number;
  /** pgbench exited non-zero (a client aborted on an error it does not retry). */
  aborted: boolean;
}

/** Runs pgbench and returns its output whether or not it succeeded. */
async function pgbenchOutput(
  binary: string,
  target: PgbenchTarget,
  args: string[],
): Promise<{ text: string; success: boolean }> {
  const output = await new Deno.Command(binary, {
    args,
    env: target.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return { text, success: output.success };
}

/**
 * Runs a timed pgbench with a per-transaction log (`-l`) and returns TPS with p50/p99 latency
 * from the log (pgbench's summary gives only the mean).
 */
export async function timedPgbench(
  binary: string,
  target: PgbenchTarget,
  args: string[],
): Promise<PgbenchRun> {
  const logDir = Deno.makeTempDirSync({ prefix: "exodb-pgbench-log-" });
  try {
    // A run where some transactions failed still counts (its failures are reported); a run with
    // no summary at all is an error.
    const { text: output, success } = await pgbenchOutput(binary, target, [
      ...args,
      "-l",
      `--log-prefix=${logDir}/tx`,
    ]);
    const tpsMatch = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
    if (tpsMatch === null) {
      throw new Error(`pgbench ${args.join(" ")} on ${target.name}:\n${output}`);
    }
    const latenciesUs: number[] = [];
    for (const entry of Deno.readDirSync(logDir)) {
      const text = Deno.readTextFileSync(`${logDir}/${entry.name}`);
      for (const line of text.split("\n")) {
        // client_id transaction_no latency_us script_no epoch_s epoch_us
        // Failed transactions log "failed" or "serialization"/"deadlock" in the latency field.
        const field = line.split(" ")[2];
        if (field !== undefined && /^\d+$/.test(field)) latenciesUs.push(Number(field));
      }
    }
    return {
      tps: Number(tpsMatch[1]),
      transactions: latenciesUs.length,
      p50Ms: quantile(latenciesUs, 0.5) / 1000,
      p99Ms: quantile(latenciesUs, 0.99) / 1000,
      retried: Number(/number of transactions retried: (\d+)/.exec(output)?.[1] ?? 0),
      failed: Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0),
      aborted: !success,
    };
  } finally {
    Deno.removeSync(logDir, { recursive: true });
  }
}

/** Options for {@link startExoDb}. */
export interface ExoDbServerOptions {
  profile?: "exo" | "conventional";
  poolSize?: string;
  imageSize?: string;
  logSize?: string;
  maxConnections?: number;
  /** The scheduler mode (`--scheduler`); the server's default when absent. */
  scheduler?: "fair" | "fifo";
  /** Serve this data directory instead of a new empty one. */
  dataDir?: string;
  /** Leave the data directory in place on stop (it is removed by default). */
  keepDataDir?: boolean;
}

/** A running ExoDB server process. */
export interface ExoDbServer {
  port: number;
  target: PgbenchTarget;
  /** Resident set size of the kernel process, from /proc, in bytes (undefined off Linux). */
  rssBytes(): number | undefined;
  /** CPU seconds (user + system) the kernel process has used, from /proc (NaN off Linux). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** USER_HZ: Linux reports process times in these ticks (100 on every mainstream build). */
const clockTicksPerSecond = 100;

function childPids(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter((s) => s !== "").map(Number);
  } catch {
    return [];
  }
}

/** Starts ExoDB through `cli.ts start` on a free port; resolves once it accepts connections. */
export async function startExoDb(options: ExoDbServerOptions = {}): Promise<ExoDbServer> {
  const dataDir = options.dataDir ?? Deno.makeTempDirSync({ prefix: "exodb-bench-" });
  const port = freePort();
  const root = new URL("../../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-env=EXODB_*",
      "--allow-read",
      "--allow-run",
      `${root}cli.ts`,
      "start",
      `--data-dir=${dataDir}`,
      `--port=${port}`,
      `--pool-size=${options.poolSize ?? "128MiB"}`,
      `--image-size=${options.imageSize ?? "64MiB"}`,
      `--log-size=${options.logSize ?? "256MiB"}`,
      `--profile=${options.profile ?? "exo"}`,
      `--max-connections=${options.maxConnections ?? 100}`,
      "--log-level=warn",
      ...(options.scheduler === undefined ? [] : [`--scheduler=${options.scheduler}`]),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error("ExoDB did not start in 60 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    target: {
      name: `ExoDB (${options.profile ?? "exo"})`,
      env: { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "exodb", PGDATABASE: "exodb" },
    },
    cpuSeconds() {
      const kernel = childPids(child.pid)[0] ?? child.pid;
      try {
        // Fields after the parenthesized command name; utime and stime are the 12th and 13th.
        const stat = Deno.readTextFileSync(`/proc/${kernel}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
      } catch {
        return NaN;
      }
    },
    rssBytes() {
      // The launcher's child is the kernel process, which holds the pool.
      const kernel = childPids(child.pid)[0] ?? child.pid;
      try {
        const status = Deno.readTextFileSync(`/proc/${kernel}/status`);
        const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        return kib === undefined ? undefined : Number(kib) * 1024;
      } catch {
        return undefined;
      }
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      if (!options.keepDataDir) Deno.removeSync(dataDir, { recursive: true });
    },
  };
}
