/**
 * `deno task exodb <command> [flags]`: the ExoDB command line. A thin launcher: it validates
 * configuration, then starts the kernel process with only the permissions that configuration
 * needs (the "bindings granted once at boot").
 */
import { parseArgs } from "node:util";
import { type Config, configSchema, resolveConfig, settings } from "./kernel/config.ts";
import { libcPath } from "./hw/libc.ts";
import { nativeLibraryPath } from "./hw/native.ts";

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
  help: {
    summary: "show help for a command",
    usage: "exodb help [command]",
    run: (args) => Promise.resolve(help(args[0])),
  },
};

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
  const flags = [
    "--no-prompt",
    `--allow-read=${[config.dataDir, ...ffi].join(",")}`,
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

if (import.meta.main) {
  const [name, ...rest] = Deno.args;
  if (name === undefined || name === "--help" || name === "-h") Deno.exit(help());
  const command = commands[name];
  if (command === undefined) Deno.exit(help(name));
  if (rest.includes("--help") && name === "help") Deno.exit(help(name));
  Deno.exit(await command.run(rest));
}
