/**
 * Storage engine benchmarks (in-process, no SQL): bulk load, point lookup by primary key beside
 * node:sqlite on the same rows in the same run, range scan, commits/s with 1, 8 and 32
 * concurrent committers (group commit), recovery time per MB of WAL, RSS with a data set ten
 * times the buffer pool.
 * Run: deno task bench:storage [--quick]   (writes bench/results/storage.json)
 */
import { DatabaseSync } from "node:sqlite";
import { BufferPool } from "../io/buffer_pool.ts";
import { openDataDir } from "../io/data_dir.ts";
import { Catalog } from "../dbengine/catalog.ts";
import { Storage } from "../dbengine/storage.ts";
import type { Table } from "../dbengine/table.ts";
import { TypeId } from "../dbengine/types.ts";
import { Rng } from "../lib/rng.ts";
import { compare, machineLine, saveResult, table } from "./harness.ts";

const quick = Deno.args.includes("--quick");
const rows = quick ? 50_000 : 1_000_000;
// Large enough to hold the table, as node:sqlite has the OS page cache behind it: the lookup
// comparison measures lookups, not misses. (RSS against smaller pools is measured below.)
const poolBytes = 512 * 1024 * 1024;
const filler = "x".repeat(80);
const results: Record<string, unknown> = { machine: machineLine(), rows, poolBytes };

async function open(dir: string, poolSize: number) {
  const data = openDataDir({
    dataDir: dir,
    blockSizeBytes: 8192,
    imageInitialBytes: 16 * 1024 * 1024,
    imageExtentBytes: 64 * 1024 * 1024,
    logDeviceBytes: 256 * 1024 * 1024,
    backend: "ffi",
  });
  const pool = new BufferPool(data.image.device, {
    frameCount: poolSize / 8192,
    imageTag: data.image.imageTag,
  });
  const storage = await Storage.open(data.image, data.log, pool);
  return { data, storage, catalog: Catalog.open(storage) };
}

const int = { id: TypeId.integer, typmod: -1 } as const;
const text = { id: TypeId.text, typmod: -1 } as const;
const column = (name: string, type: typeof int | typeof text) => ({
  name,
  type,
  notNull: false,
  defaultSql: null,
  missing: null,
  dropped: false,
  identity: null,
});

function withSnapshot<T>(storage: Storage, body: (snapshot: number) => T): T {
  const snapshot = storage.txns.snapshot();
  try {
    return body(snapshot);
  } finally {
    storage.txns.release(snapshot);
  }
}

const dir = Deno.makeTempDirSync({ prefix: "exodb-bench-storage-" });
try {
  const { data, storage, catalog } = await open(dir, poolBytes);
  const ddl = storage.txns.begin();
  ddl.cid++;
  await catalog.createTable(ddl, {
    name: "t",
    columns: [column("k", int), column("v", text), column("n", int)],
    primaryKey: [0],
    primaryKeyName: "t_pkey",
    indexes: [],
    checks: [],
  });
  await storage.txns.commit(ddl);
  const t: Table = withSnapshot(storage, (s) => catalog.table("t", undefined, s))!;

  // Bulk load: transactions of 10,000 rows.
  let started = performance.now();
  for (let base = 0; base < rows; base += 10_000) {
    const txn = storage.txns.begin();
    txn.cid++;
    for (let k = base; k < Math.min(rows, base + 10_000); k++) await t.insert(txn, [k, filler, k]);
    await storage.txns.commit(txn);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  await storage.checkpoint();

  const sqlitePath = `${dir}/sqlite.db`;
  const sqlite = new DatabaseSync(sqlitePath);
  sqlite.exec(
    "pragma journal_mode=wal; pragma synchronous=full; create table t(k integer primary key, v text, n integer)",
  );
  const sqliteInsert = sqlite.prepare("insert into t values (?, ?, ?)");
  started = performance.now();
  for (let base = 0; base < rows; base += 10_000) {
    sqlite.exec("begin");
    for (let k = base; k < Math.min(rows, base + 10_000); k++) sqliteInsert.run(k, filler, k);
    sqlite.exec("commit");
  }
  const sqliteLoadSeconds = (performance.now() - started) / 1000;
  results.bulkLoad = {
    exodbRowsPerSecond: rows / loadSeconds,
    sqliteRowsPerSecond: rows / sqliteLoadSeconds,
  };

  // Point lookups: one statement snapshot per lookup, as a SELECT would take.
  const rng = new Rng(9);
  const keys = Array.from({ length: 65536 }, () => rng.nextInt(rows));
  const sqliteGet = sqlite.prepare("select v, n from t where k = ?");
  const lookups = compare([
    {
      name: "ExoDB primary-key lookup",
      run: (i) => withSnapshot(storage, (s) => t.getByPrimaryKey([keys[i & 65535]!], undefined, s)),
    },
    { name: "node:sqlite primary-key lookup", run: (i) => sqliteGet.get(keys[i & 65535]!) },
  ], quick ? { samples: 3, sampleMs: 20 } : {});
  results.pointLookup = lookups;

  // Range scans of 1,000 rows.
  started = performance.now();
  let scanned = 0;
  const scanRounds = quick ? 20 : 200;
  for (let i = 0; i < scanRounds; i++) {
    const from = rng.nextInt(rows - 1000);
    scanned += withSnapshot(storage, (s) =>
      t.scan(undefined, s, { start: t.keyOf([from]), limit: 1000 })).length;
  }
  results.rangeScanRowsPerSecond = scanned / ((performance.now() - started) / 1000);

  // Commits per second with N concurrent committers, each updating one random row per commit.
  const commitRates: Record<string, unknown>[] = [];
  for (const committers of [1, 8, 32]) {
    const syncsBefore = storage.wal.stats.syncs;
    let commits = 0;
    const until = performance.now() + (quick ? 300 : 3000);
    const worker = async (id: number) => {
      const local = new Rng(id);
      while (performance.now() < until) {
        const txn = storage.txns.begin();
        txn.cid++;
        // Disjoint key ranges per committer: this measures commit throughput, not lock waits.
        const k = (local.nextInt(rows / 32) * 32 + id) % rows;
        await t.update(txn, t.keyOf([k]), (row) => [row[0]!, row[1]!, (row[2] as number) + 1]);
        await storage.txns.commit(txn);
        commits++;
      }
    };
    const began = performance.now();
    await Promise.all(Array.from({ length: committers }, (_, i) => worker(i)));
    const seconds = (performance.now() - began) / 1000;
    const syncs = storage.wal.stats.syncs - syncsBefore;
    commitRates.push({
      committers,
      commitsPerSecond: commits / seconds,
      commitsPerSync: commits / Math.max(1, syncs),
    });
  }
  results.commits = commitRates;

  // Recovery: WAL written since the last checkpoint, replayed by a fresh open (a crash).
  await storage.checkpoint();
  const redo = storage.wal.insertLsn;
  const txn = storage.txns.begin();
  txn.cid++;
  const updates = quick ? 20_000 : 200_000;
  for (let i = 0; i < updates; i++) {
    const k = rng.nextInt(rows);
    await t.update(txn, t.keyOf([k]), (row) => [row[0]!, row[1]!, (row[2] as number) + 1]);
  }
  await storage.txns.commit(txn);
  const walBytes = storage.wal.insertLsn - redo;
  const crashed = await open(dir, poolBytes); // the first instance is abandoned, never flushed
  const recoveryMs = crashed.storage.recovery.elapsedMs;
  results.recovery = { walBytes, recoveryMs, msPerMiB: recoveryMs / (walBytes / 1024 / 1024) };
  crashed.data.image.close();
  crashed.data.log.close();
  data.image.close();
  data.log.close();
  sqlite.close();

  // RSS against pool size, each in its own process over the same table (so nothing else in
  // this benchmark inflates the figure); the smallest pool is far below the data set.
  const poolSizes = quick
    ? [4 * 1024 * 1024, 16 * 1024 * 1024]
    : [8 * 1024 * 1024, 32 * 1024 * 1024, 128 * 1024 * 1024];
  const memory: Record<string, unknown>[] = [];
  for (const size of poolSizes) {
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./storage_rss_child.ts", import.meta.url).pathname,
        dir,
        String(size),
        String(rows),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    memory.push(JSON.parse(new TextDecoder().decode(child.stdout)));
  }
  results.memory = memory;
} finally {
  Deno.removeSync(dir, { recursive: true });
}

const load = results.bulkLoad as { exodbRowsPerSecond: number; sqliteRowsPerSecond: number };
const recovery = results.recovery as { walBytes: number; recoveryMs: number; msPerMiB: number };
const memory = results.memory as {
  poolBytes: number;
  imageBytes: number;
  rssBytes: number;
  rssAtStartBytes: number;
}[];
console.log(`Storage engine, ${rows} rows — ${machineLine()}\n`);
console.log(
  `bulk load: ExoDB ${load.exodbRowsPerSecond.toFixed(0)} rows/s, node:sqlite ${
    load.sqliteRowsPerSecond.toFixed(0)
  } rows/s`,
);
console.log(
  `\npoint lookup by primary key:\n${
    table(results.pointLookup as ReturnType<typeof compare>, "node:sqlite primary-key lookup")
  }`,
);
console.log(`\nrange scan: ${(results.rangeScanRowsPerSecond as number).toFixed(0)} rows/s`);
console.log("\n| committers | commits/s | commits per WAL sync |\n|---:|---:|---:|");
for (
  const c of results.commits as {
    committers: number;
    commitsPerSecond: number;
    commitsPerSync: number;
  }[]
) {
  console.log(
    `| ${c.committers} | ${c.commitsPerSecond.toFixed(0)} | ${c.commitsPerSync.toFixed(1)} |`,
  );
}
console.log(
  `\nrecovery: ${(recovery.walBytes / 1024 / 1024).toFixed(1)} MiB of WAL in ${
    recovery.recoveryMs.toFixed(0)
  } ms (${recovery.msPerMiB.toFixed(1)} ms/MiB)`,
);
console.log(
  "\n| pool | data set | data set / pool | RSS after lookups and a full scan | RSS at start |\n|---:|---:|---:|---:|---:|",
);
for (const m of memory) {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
  console.log(
    `| ${mib(m.poolBytes)} | ${mib(m.imageBytes)} | ${(m.imageBytes / m.poolBytes).toFixed(1)}× | ${
      mib(m.rssBytes)
    } | ${mib(m.rssAtStartBytes)} |`,
  );
}
saveResult(quick ? "storage.quick" : "storage", results);
