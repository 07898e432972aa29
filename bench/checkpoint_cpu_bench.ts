/**
 * What a large CHECKPOINT costs the kernel thread: the exo profile's staged write-back (pages
 * sealed and copied out on the kernel thread, written and read back by the I/O worker;
 * io-path `mixed`, the default) against the synchronous sweep (each page written and read back
 * by an FFI call on the kernel thread; io-path `direct`). Both appliances boot in this process
 * on pgbench's tables at scale 4 (400,000 accounts); each round dirties every 10th account
 * (an UPDATE rolled back, so no vacuum joins in) and times one CHECKPOINT over the wire,
 * rounds alternating between the two. Figures are medians over the rounds: the maintenance
 * class's CPU (the scheduler's slices of the CHECKPOINT), the kernel thread's and the process's
 * CPU time (/proc, 10 ms ticks), and the wall time.
 *
 *   deno task bench:checkpoint [rounds=5]
 */
import pg from "pg";
import { bootInProcess, type InProcessExoDb, loadPgbenchTables } from "./runner/in_process.ts";
import { cpuSnapshot } from "./runner/thread_cpu.ts";
import { markdownTable, median } from "./runner/suite.ts";

const rounds = Number(Deno.args[0] ?? 5);
const paths = ["mixed", "direct"] as const;

interface Round {
  dirtyPages: number;
  maintenanceCpuMs: number;
  kernelThreadMs: number;
  processMs: number;
  wallMs: number;
  slices: number;
}

async function checkpointRound(db: InProcessExoDb, client: pg.Client): Promise<Round> {
  await client.query("BEGIN");
  await client.query("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 10 = 0");
  await client.query("ROLLBACK");
  const dirtyPages = db.appliance.engine.storage.pool.stats().dirty;
  const before = { ...db.appliance.scheduler.stats().maintenance };
  const cpu0 = cpuSnapshot();
  const t0 = performance.now();
  await client.query("CHECKPOINT");
  const wallMs = performance.now() - t0;
  const cpu1 = cpuSnapshot();
  const after = db.appliance.scheduler.stats().maintenance;
  return {
    dirtyPages,
    maintenanceCpuMs: after.cpuMs - before.cpuMs,
    kernelThreadMs: cpu1.kernelThreadMs - cpu0.kernelThreadMs,
    processMs: cpu1.processMs - cpu0.processMs,
    wallMs,
    slices: after.slices - before.slices,
  };
}

const servers: {
  path: (typeof paths)[number];
  db: InProcessExoDb;
  client: pg.Client;
  dataDir: string;
}[] = [];
try {
  for (const path of paths) {
    const dataDir = await Deno.makeTempDir({ prefix: `exodb-checkpoint-${path}-` });
    const db = await bootInProcess({ dataDir: `${dataDir}/data`, profile: "exo", ioPath: path });
    await loadPgbenchTables(db, 4);
    const client = new pg.Client({
      host: "127.0.0.1",
      port: db.appliance.listener.port,
      user: "exodb",
      database: "exodb",
    });
    await client.connect();
    await client.query("CHECKPOINT");
    servers.push({ path, db, client, dataDir });
  }
  const results = new Map<string, Round[]>(paths.map((p) => [p, []]));
  for (let round = 0; round < rounds + 1; round++) {
    for (const server of servers) {
      const figures = await checkpointRound(server.db, server.client);
      if (round > 0) results.get(server.path)!.push(figures); // round 0 warms the JIT
    }
  }
  const rows = paths.map((path) => {
    const all = results.get(path)!;
    const m = (f: (r: Round) => number) => median(all.map(f)).toFixed(1);
    return [
      path === "mixed" ? "staged, I/O worker (mixed)" : "synchronous sweep (direct)",
      String(all[0]!.dirtyPages),
      m((r) => r.maintenanceCpuMs),
      m((r) => r.kernelThreadMs),
      m((r) => r.processMs),
      m((r) => r.wallMs),
      m((r) => r.slices),
    ];
  });
  console.log(`CHECKPOINT of dirty pages, medians of ${rounds} alternating rounds`);
  console.log(markdownTable(
    [
      "write-back",
      "dirty pages",
      "maintenance CPU ms",
      "kernel thread ms",
      "process ms",
      "wall ms",
      "slices",
    ],
    rows,
  ));
} finally {
  for (const { db, client, dataDir } of servers) {
    await client.end();
    await db.stop();
    Deno.removeSync(dataDir, { recursive: true });
  }
}
