/**
 * An ExoDB appliance booted inside the benchmark process (so hw/crossings.ts counters are
 * readable here), with a SQL runner and a loader for pgbench's tables that uses
 * INSERT … SELECT generate_series instead of `pgbench -i` (no vacuum pass; any row count).
 */
import { type Appliance, boot } from "../../kernel/boot.ts";
import { resolveConfig } from "../../kernel/config.ts";
import { Logger } from "../../kernel/log.ts";
import { parseSql } from "../../query/sql_parser.ts";
import { SqlSession } from "../../query/sql_session.ts";
import type { PgbenchTarget } from "./pgbench.ts";

/** A booted in-process appliance. */
export interface InProcessExoDb {
  appliance: Appliance;
  session: SqlSession;
  target: PgbenchTarget;
  dataDir: string;
  /** Runs SQL text (one or more statements) in the bench's own session. */
  sql(text: string): Promise<void>;
  /** Shuts down; removes the data directory unless `keep`. */
  stop(keep?: boolean): Promise<void>;
}

/** Boots ExoDB in this process on a free port. */
export async function bootInProcess(options: {
  dataDir: string;
  profile?: "exo" | "conventional";
  poolSize?: string;
  imageSize?: string;
  logSize?: string;
  /** The exo profile's client sockets: io_uring ("ring", the default) or Deno's TCP. */
  netPath?: "ring" | "direct";
  /** The exo profile's disk I/O path (kernel/config.ts); the configured default otherwise. */
  ioPath?: "mixed" | "ring" | "direct";
  /** The exo profile's group-commit flush (kernel/config.ts); the configured default otherwise. */
  logFlush?: "nic-ring" | "worker";
}): Promise<InProcessExoDb> {
  const config = resolveConfig({
    "data-dir": options.dataDir,
    port: "0",
    "pool-size": options.poolSize ?? "256MiB",
    "image-size": options.imageSize ?? "64MiB",
    "log-size": options.logSize ?? "512MiB",
    profile: options.profile ?? "exo",
    "net-path": options.netPath ?? "ring",
    ...(options.ioPath !== undefined ? { "io-path": options.ioPath } : {}),
    ...(options.logFlush !== undefined ? { "log-flush": options.logFlush } : {}),
  }, {});
  if (!config.ok) throw new Error(`bench configuration is invalid: ${config.problems.join("; ")}`);
  const appliance = await boot(config.config, new Logger("error", () => {}));
  const session = new SqlSession(() => appliance.engine);
  return {
    appliance,
    session,
    dataDir: options.dataDir,
    target: {
      name: `ExoDB (${options.profile ?? "exo"}, in process)`,
      env: {
        PGHOST: "127.0.0.1",
        PGPORT: String(appliance.listener.port),
        PGUSER: "exodb",
        PGDATABASE: "exodb",
      },
    },
    async sql(text) {
      for (const { statement } of parseSql(text)) await session.execute(statement);
    },
    async stop(keep = false) {
      await appliance.shutdown();
      if (!keep) Deno.removeSync(options.dataDir, { recursive: true });
    },
  };
}

/** Creates and fills pgbench's four tables at `scale` (100,000 accounts per branch). */
export async function loadPgbenchTables(db: InProcessExoDb, scale: number): Promise<void> {
  await db.sql(`
    create table pgbench_branches (bid int primary key, bbalance int, filler char(88));
    create table pgbench_tellers (tid int primary key, bid int, tbalance int, filler char(84));
    create table pgbench_accounts (aid int primary key, bid int, abalance int, filler char(84));
    create table pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
    insert into pgbench_branches select g, 0 from generate_series(1, ${scale}) g;
    insert into pgbench_tellers select g, (g - 1) / 10 + 1, 0 from generate_series(1, ${
    scale * 10
  }) g`);
  const accounts = scale * 100_000;
  for (let from = 1; from <= accounts; from += 50_000) {
    const to = Math.min(accounts, from + 49_999);
    await db.sql(
      `insert into pgbench_accounts select g, (g - 1) / 100000 + 1, 0, '' from generate_series(${from}, ${to}) g`,
    );
  }
  await db.sql("analyze; checkpoint");
}
