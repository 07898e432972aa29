/**
 * A throw-away PostgreSQL 15 cluster for differential tests and baseline benchmarks: initdb in a
 * temporary directory owned by the `postgres` system user (PostgreSQL refuses to run as root),
 * started on a free loopback port with trust authentication, removed on stop.
 */

/** A running reference server. */
export interface PgCluster {
  port: number;
  /** The database user to connect as. */
  user: string;
  /** The PostgreSQL binaries' directory. */
  binDir: string;
  stop(): Promise<void>;
}

const candidateBinDirs = ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"];
const readinessTool = "pg_isready";

/** The directory holding `initdb` and `postgres`, or undefined where they are not installed. */
export function findPgBinDir(): string | undefined {
  for (const dir of candidateBinDirs) {
    try {
      const has = (name: string) => Deno.statSync(`${dir}/${name}`).isFile;
      if (has("initdb") && has("postgres") && has(readinessTool)) {
        return dir;
      }
    } catch { /* not here */ }
  }
  return undefined;
}

/** A message for tests that skip because no PostgreSQL binaries are installed. */
export const pgMissingMessage =
  "skipped: PostgreSQL binaries (initdb, postgres) are not installed (apt-get install postgresql)";

function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
async function runPg(binary: string, args: string[]): Promise<void> {
  const [command, fullArgs] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", binary, ...args]]
    : [binary, args];
  const output = await new Deno.Command(command, {
    args: fullArgs,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!output.success) {
    throw new Error(
      `${binary} failed: ${new TextDecoder().decode(output.stderr).trim().slice(-2000)}`,
    );
  }
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts a new cluster; `settings` become `-c name=value` flags. */
export async function startPgCluster(settings: Record<string, string> = {}): Promise<PgCluster> {
  const binDir = findPgBinDir();
  if (binDir === undefined) throw new Error(pgMissingMessage);
  const dir = Deno.makeTempDirSync({ prefix: "exodb-pg-" });
  if (isRoot()) {
    const chown = await new Deno.Command("chown", { args: ["postgres:postgres", dir] }).output();
    if (!chown.success) throw new Error(`chown of ${dir} to postgres failed`);
  }
  const dataDir = `${dir}/data`;
  await runPg(`${binDir}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const port = freePort();
  const flags = Object.entries({
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: dir,
    ...settings,
  }).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
  const [command, args] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", `${binDir}/postgres`, "-D", dataDir, ...flags]]
    : [`${binDir}/postgres`, ["-D", dataDir, ...flags]];
  const child = new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).spawn();
  const stderr = child.stderr.getReader();
  let log = "";
  const decoder = new TextDecoder();
  const drain = (async () => {
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) return;
      log = (log + decoder.decode(value)).slice(-8000);
    }
  })();
  // Ready when it accepts queries, not only connections (during startup it refuses them with
  // "the database system is starting up"): pg_isready says so. Poll for at most 30 s.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await new Deno.Command(`${binDir}/${readinessTool}`, {
      args: ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-q"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
    if (ready?.success) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`PostgreSQL did not start on port ${port}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    user: "postgres",
    binDir,
    async stop() {
      // Signal the postmaster itself (runuser does not pass SIGINT on): fast shutdown.
      try {
        const pid = Number(Deno.readTextFileSync(`${dataDir}/postmaster.pid`).split("\n")[0]);
        Deno.kill(pid, "SIGINT");
      } catch {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await child.status;
      await drain;
      Deno.removeSync(dir, { recursive: true });
    },
  };
}
