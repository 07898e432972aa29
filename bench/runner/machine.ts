/**
 * The machine a report was measured on: what the report opens with.
 */
import { findPgBinDir } from "../../tests/_support/pg_cluster.ts";

/** Facts about the machine and the software under test. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  os: string;
  kernel: string;
  deno: string;
  v8: string;
  postgres: string;
  pgbench: string;
  /** 1-minute load average when the run began (a shared machine's noise). */
  loadAverageAtStart: number;
  startedAt: string;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

async function versionOf(binary: string | undefined): Promise<string> {
  if (binary === undefined) return "not installed";
  try {
    const out = await new Deno.Command(binary, { args: ["--version"], stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim() || "unknown";
  } catch {
    return "not installed";
  }
}

/** Collects the machine facts (reads /proc and /etc where they exist). */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = readText("/proc/cpuinfo") ?? "";
  const osRelease = readText("/etc/os-release") ?? "";
  const pgDir = findPgBinDir();
  const pgbench = pgDir && readText(`${pgDir}/pgbench`) !== undefined
    ? `${pgDir}/pgbench`
    : "/usr/bin/pgbench";
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? Deno.build.arch,
    memoryBytes: Deno.systemMemoryInfo().total,
    os: /PRETTY_NAME="?([^"\n]+)"?/.exec(osRelease)?.[1] ?? Deno.build.os,
    kernel: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    postgres: await versionOf(pgDir && `${pgDir}/postgres`),
    pgbench: await versionOf(pgbench),
    loadAverageAtStart: Deno.loadavg()[0] ?? NaN,
    startedAt: new Date().toISOString(),
  };
}

/** The machine as a Markdown table. */
export function machineMarkdown(info: MachineInfo): string {
  return [
    "| | |",
    "|---|---|",
    `| CPU | ${info.cores} cores, ${info.cpuModel} |`,
    `| memory | ${(info.memoryBytes / 1024 ** 3).toFixed(1)} GiB |`,
    `| OS | ${info.os} (${info.kernel}) |`,
    `| Deno | ${info.deno} (V8 ${info.v8}) |`,
    `| PostgreSQL | ${info.postgres}; ${info.pgbench} |`,
    `| load average at start | ${info.loadAverageAtStart.toFixed(2)} |`,
    `| started | ${info.startedAt} |`,
  ].join("\n");
}
