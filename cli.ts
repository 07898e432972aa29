/**
 * `deno task exodb <command> [flags]`: the ExoDB command line. A thin launcher: it validates
 * configuration, then starts the kernel process with only the permissions that configuration
 * needs (the "bindings granted once at boot").
 */
import { parseArgs } from "node:util";
import { type Config, configSchema, resolveConfig, settings } from "./kernel/config.ts";
import { libcPath } from "./hw/libc.ts";
import { nativeLibraryPath } from "./hw/native.ts";
import { ioWorkerModulePaths } from "./io/io_worker/ring_io.ts";

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  start: {
    summary: "boot the appliance and serve PostgreSQL clients",
    usage: "exodb start [flags]",
    run: (args) => launch(args, "./kernel/main.ts", true),
  },
  check: {
    summary: "verify every block and B+tree of a data directory (server stopped); exit 1 on damage",
    usage: "exodb check --data-dir DIR [flags]",
    run: (args) => launch(args, "./kernel/check_main.ts", false),
  },
  backup: {
    summary: "take an online backup of a running server into a file (blocks + WAL, verified)",
    usage: "exodb backup --from HOST:PORT --to FILE [--user NAME] [--database NAME]",
    run: (args) => launchBackup(args),
  },
  restore: {
    summary: "restore a backup file into a new data directory (verified, test-booted)",
    usage: "exodb restore --from FILE --data-dir DIR",
    run: (args) => launchRestore(args),
  },
  bench: {
    summary: "run the benchmark suites; write bench/results/REPORT.md with charts",
    usage: "exodb bench [--quick] [--suite NAME …]",
    run: bench,
  },
  help: {
    summary: "show help for a command",
    usage: "exodb help [command]",
    run: (args) => Promise.resolve(help(args[0])),
  },
};

/**
 * Runs bench/bench_main.ts in its own process with every permission: the benchmarks start
 * servers, PostgreSQL and pgbench, and write results (unlike the appliance, which is confined).
 */
async function bench(args: string[]): Promise<number> {
  const main = new URL("./bench/bench_main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-prompt", main, ...args],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

function settingsHelp(): string {
  const lines = Object.entries(settings).map(([key, spelling]) => {
    const description = configSchema.shape[key as keyof Config].description ?? "";
    const flag = `--${spelling.flag}=VALUE`.padEnd(24);
    return `  ${flag} ${description} (env ${spelling.env}, default ${spelling.default})`;
  });
  return lines.join("\n");
}

function help(name?: string): number {
  const command = name === undefined ? undefined : commands[name];
  if (name !== undefined && command === undefined) {
    console.error(`exodb: unknown command "${name}"; try \`exodb help\``);
    return 2;
  }
  if (command === undefined) {
    console.log("Usage: deno task exodb <command> [flags]\n\nCommands:");
    for (const [key, c] of Object.entries(commands)) {
      console.log(`  ${key.padEnd(10)} ${c.summary}`);
    }
    console.log("\nRun `deno task exodb <command> --help` for a command's flags.");
    return 0;
  }
  console.log(`Usage: deno task ${command.usage}\n\n${command.summary}`);
  if (name === "bench") {
    console.log("\nRun `deno task exodb bench --help` for its flags and suites.");
    return 0;
  }
  if (name === "backup" || name === "restore") {
    console.log(backupHelp[name]);
    return 0;
  }
  if (name !== "help") console.log(`\nFlags (flag > environment > default):\n${settingsHelp()}`);
  console.log("  --help                   show this help");
  return 0;
}

function readEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const spelling of Object.values(settings)) env[spelling.env] = Deno.env.get(spelling.env);
  return env;
}

/** The permission flags the kernel process needs for `config`, and no more. */
export function kernelPermissions(config: Config, listen: boolean): string[] {
  const ffi = [libcPath(), nativeLibraryPath].filter((p): p is string => {
    if (p === undefined) return false;
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  // The exo profile's I/O worker is a Worker module: loading it needs read access to its files.
  const worker = config.profile === "exo" && config.ioPath !== "direct" && ffi.length > 0
    ? ioWorkerModulePaths
    : [];
  const flags = [
    "--no-prompt",
    `--allow-read=${[config.dataDir, ...ffi, ...worker].join(",")}`,
    `--allow-write=${config.dataDir}`,
  ];
  if (listen) flags.push(`--allow-net=${config.host}:${config.port}`);
  // FFI cannot be scoped to the two libraries: Deno.UnsafePointer.of, which vectored I/O
  // (preadv/pwritev iovecs of buffer-pool frames) needs, requires unscoped --allow-ffi
  // (Deno 2.9: NotCapable otherwise). Reads and writes stay scoped to the data directory.
  if (ffi.length > 0) flags.push("--allow-ffi");
  return flags;
}

/** Validates configuration, then runs `entry` with exactly the permissions it needs. */
async function launch(args: string[], entry: string, listen: boolean): Promise<number> {
  const options = Object.fromEntries(
    Object.values(settings).map((s) => [s.flag, { type: "string" as const }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: "boolean" } }, strict: true });
  } catch (error) {
    console.error(`exodb: invalid configuration:\n  - ${(error as Error).message}`);
    return 2;
  }
  if (parsed.values.help) return help(listen ? "start" : "check");
  const flags = parsed.values as Record<string, string | undefined>;
  const result = resolveConfig(flags, readEnv());
  if (!result.ok) {
    console.error(
      `exodb: invalid configuration:\n${result.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    return 2;
  }
  const main = new URL(entry, import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...kernelPermissions(result.config, listen),
      "--allow-env=EXODB_PASSWORD",
      main,
      // The password travels in the environment, not in the argument list others can read.
      `--config-json=${JSON.stringify({ ...result.config, password: "" })}`,
    ],
    env: { EXODB_PASSWORD: result.config.password },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // The kernel has already exited.
    }
  };
  Deno.addSignalListener("SIGINT", forward("SIGINT"));
  Deno.addSignalListener("SIGTERM", forward("SIGTERM"));
  const status = await child.status;
  return status.code;
}

const backupHelp = {
  backup: `
Connects like any client (trust, or SCRAM-SHA-256 with the password in EXODB_PASSWORD), runs
EXODB_BASE_BACKUP, and writes FILE only once every block and WAL record has been verified.

Flags:
  --from=HOST:PORT          server to back up (loopback or any address it listens on)
  --to=FILE                 backup file to create (must not exist; FILE.partial while running)
  --user=NAME               user name (default exodb)
  --database=NAME           database name (default exodb)
  --help                    show this help`,
  restore: `
Verifies every block and WAL record as it reads FILE, builds the image in DIR.restoring,
recovers and checks it, and renames it to DIR only when all of that passed.

Flags:
  --from=FILE               backup file written by \`exodb backup\`
  --data-dir=DIR            directory to create (must not exist or be empty)
  --help                    show this help`,
};

function parseFlags(
  args: string[],
  names: string[],
): Record<string, string | undefined> | number {
  const options = Object.fromEntries(names.map((n) => [n, { type: "string" as const }]));
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean" } },
      strict: true,
    });
    if (parsed.values.help) return -1;
    return parsed.values as Record<string, string | undefined>;
  } catch (error) {
    console.error(`exodb: ${(error as Error).message}`);
    return 2;
  }
}

async function runChild(entry: string, permissions: string[], args: string[]): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, new URL(entry, import.meta.url).pathname, ...args],
    env: { EXODB_PASSWORD: Deno.env.get("EXODB_PASSWORD") ?? "" },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

function ffiLibraries(): string[] {
  return [libcPath(), nativeLibraryPath].filter((p): p is string => {
    if (p === undefined) return false;
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

async function launchBackup(args: string[]): Promise<number> {
  const flags = parseFlags(args, ["from", "to", "user", "database"]);
  if (flags === -1) return help("backup");
  if (typeof flags === "number") return flags;
  const match = /^(.+):(\d+)$/.exec(flags.from ?? "");
  if (match === null || flags.to === undefined || flags.to === "") {
    console.error("exodb backup: --from=HOST:PORT and --to=FILE are required");
    return 2;
  }
  const [host, port] = [match[1]!, match[2]!];
  const to = flags.to;
  const ffi = ffiLibraries();
  return await runChild("./kernel/backup_main.ts", [
    `--allow-net=${host}:${port}`,
    `--allow-read=${[to, `${to}.partial`, ...ffi].join(",")}`,
    `--allow-write=${to},${to}.partial`,
    // node-postgres reads its PG* defaults and the user name from the environment.
    "--allow-env",
    "--allow-sys=hostname,osRelease,homedir,uid,gid,username",
    ...(ffi.length > 0 ? [`--allow-ffi=${ffi.join(",")}`] : []),
  ], [
    "backup",
    `--host=${host}`,
    `--port=${port}`,
    `--to=${to}`,
    `--user=${flags.user ?? "exodb"}`,
    `--database=${flags.database ?? "exodb"}`,
  ]);
}

async function launchRestore(args: string[]): Promise<number> {
  const flags = parseFlags(args, ["from", "data-dir"]);
  if (flags === -1) return help("restore");
  if (typeof flags === "number") return flags;
  const from = flags.from;
  const dir = flags["data-dir"]?.replace(/\/+$/, "");
  if (from === undefined || from === "" || dir === undefined || dir === "") {
    console.error("exodb restore: --from=FILE and --data-dir=DIR are required");
    return 2;
  }
  const ffi = ffiLibraries();
  const temp = `${dir}.restoring`;
  return await runChild("./kernel/backup_main.ts", [
    `--allow-read=${[from, dir, temp, ...ffi].join(",")}`,
    `--allow-write=${dir},${temp}`,
    ...(ffi.length > 0 ? [`--allow-ffi=${ffi.join(",")}`] : []),
  ], ["restore", `--from=${from}`, `--data-dir=${dir}`]);
}

if (import.meta.main) {
  const [name, ...rest] = Deno.args;
  if (name === undefined || name === "--help" || name === "-h") Deno.exit(help());
  const command = commands[name];
  if (command === undefined) Deno.exit(help(name));
  if (rest.includes("--help") && name === "help") Deno.exit(help(name));
  Deno.exit(await command.run(rest));
}
