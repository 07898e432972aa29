/**
 * The process a crash test kills. `run` mode: committers move money between accounts in
 * transactions (two updates and one history insert each) and print "ACK <k>" once commit k is
 * durable; checkpoints run in the background, and a roller keeps starting a transaction that
 * changes every account and adds history rows, then rolls it back in slices (it must leave
 * nothing, whenever the kill comes). The devices are the exo profile's: reads and writes by FFI,
 * syncs and checkpoint writes on the I/O worker (where FFI is available); with an even seed the
 * log's group-commit flush is a linked write → fdatasync on io_uring (hw/disk_uring.ts, the
 * appliance's default), with an odd one a request to the I/O worker. `verify` mode: recover, check invariants, print
 * one JSON line. Usage: crash_child.ts <dataDir> run|verify <seed> [crashPoint:nth]
 */
import { armCrashPoint, type CrashPointName } from "../../lib/crash_hooks.ts";
import { Rng } from "../../lib/rng.ts";
import { BufferPool } from "../../io/buffer_pool.ts";
import { openDataDir } from "../../io/data_dir.ts";
import { Catalog } from "../../dbengine/catalog.ts";
import { Storage } from "../../dbengine/storage.ts";
import { DeadlockError, type Transaction } from "../../dbengine/txn.ts";
import { RingIo } from "../../io/io_worker/ring_io.ts";
import { UringFlushDevice } from "../../hw/disk_uring.ts";
import { Uring } from "../../hw/uring.ts";
import { TypeId } from "../../dbengine/types.ts";
import type { TableDef } from "../../dbengine/table.ts";

const [dataDir, mode, seedText, hook] = Deno.args;
const accounts = 16;
const int = { id: TypeId.integer, typmod: -1 } as const;
const col = (name: string) => ({
  name,
  type: int,
  notNull: true,
  defaultSql: null,
  missing: null,
  dropped: false,
  identity: null,
});
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

if (hook) {
  const [name, nth] = hook.split(":");
  armCrashPoint(name as CrashPointName, Number(nth), () => Deno.kill(Deno.pid, "SIGKILL"));
}

const io = await RingIo.start();
const ring = io !== undefined && Number(seedText) % 2 === 0 ? Uring.open(64) : undefined;
const openOnRing = (path: string, create: boolean) => {
  const device = io!.open(path, create, "direct");
  return ring !== undefined && path.endsWith("/exodb.wal")
    ? UringFlushDevice.wrap(device, path, ring)
    : device;
};
const data = openDataDir({
  dataDir: dataDir!,
  blockSizeBytes: 4096,
  imageInitialBytes: 1024 * 1024,
  imageExtentBytes: 1024 * 1024,
  logDeviceBytes: 4 * 1024 * 1024,
  backend: "ffi",
  ...(io === undefined ? {} : { openDevice: openOnRing }),
});
const pool = new BufferPool(data.image.device, { frameCount: 64, imageTag: data.image.imageTag });
const storage = await Storage.open(data.image, data.log, pool);
const catalog = Catalog.open(storage);
const txns = storage.txns;

function statement<T>(txn: Transaction | undefined, body: (snapshot: number) => T): T {
  if (txn) txn.cid++;
  const snapshot = txns.snapshot();
  try {
    return body(snapshot);
  } finally {
    txns.release(snapshot);
  }
}

function tableDef(name: string, columns: string[]): Omit<TableDef, "id" | "root" | "treeId"> {
  return {
    name,
    columns: columns.map(col),
    primaryKey: [0],
    primaryKeyName: `${name}_pkey`,
    indexes: [],
    checks: [],
  };
}

if (statement(undefined, (s) => catalog.tableDef("bank", undefined, s)) === null) {
  const setup = txns.begin();
  setup.cid++;
  await catalog.createTable(setup, tableDef("bank", ["id", "balance"]));
  await catalog.createTable(setup, tableDef("hist", ["k", "a", "b", "amount"]));
  const bank = statement(setup, (s) => catalog.table("bank", setup, s))!;
  for (let id = 0; id < accounts; id++) await bank.insert(setup, [id, 0]);
  await txns.commit(setup);
}
const bank = statement(undefined, (s) => catalog.table("bank", undefined, s))!;
const hist = statement(undefined, (s) => catalog.table("hist", undefined, s))!;
const histRows = statement(undefined, (s) => hist.scan(undefined, s, { limit: 1e9 }));

if (mode === "verify") {
  const balances = statement(undefined, (s) => bank.scan(undefined, s, { limit: 1000 })).map((r) =>
    r.values[1] as number
  );
  const expected = new Array<number>(accounts).fill(0);
  for (const row of histRows) {
    const [, a, b, amount] = row.values as number[];
    expected[a!]! -= amount!;
    expected[b!]! += amount!;
  }
  const consistent = balances.length === accounts && balances.every((v, i) => v === expected[i]);
  const trees = [...bank.trees(), ...hist.trees()].map((t) => t.check().entries);
  say(JSON.stringify({
    hist: histRows.map((r) => r.values[0]),
    consistent,
    sum: balances.reduce((a, b) => a + b, 0),
    trees,
    recovery: storage.recovery,
  }));
  Deno.exit(0);
}

let next = histRows.reduce((max, r) => Math.max(max, r.values[0] as number), 0) + 1;
const rng = new Rng(Number(seedText));
async function transfer(): Promise<void> {
  const k = next++;
  const a = rng.nextInt(accounts);
  let b = rng.nextInt(accounts - 1);
  if (b >= a) b++;
  const amount = 1 + rng.nextInt(100);
  for (;;) {
    const txn = txns.begin();
    try {
      txn.cid++;
      await bank.update(txn, bank.keyOf([a]), (row) => [row[0]!, (row[1] as number) - amount]);
      txn.cid++;
      await bank.update(txn, bank.keyOf([b]), (row) => [row[0]!, (row[1] as number) + amount]);
      txn.cid++;
      await hist.insert(txn, [k, a, b, amount]);
      await txns.commit(txn);
      say(`ACK ${k}`);
      return;
    } catch (error) {
      if (txn.state === "active") txns.rollback(txn);
      if (!(error instanceof DeadlockError)) throw error;
      // Back off before retrying, as a client does after a round trip: retrying within the same
      // microtask chain lets two victims take turns deadlocking while timers and I/O starve.
      await new Promise((resolve) => setTimeout(resolve, rng.nextInt(3)));
    }
  }
}
async function committer(): Promise<void> {
  for (;;) await transfer();
}
/** Changes every account and adds history rows (over 16 undo steps), then rolls back. */
async function bigRollback(): Promise<void> {
  const txn = txns.begin();
  try {
    for (let id = 0; id < accounts; id++) {
      txn.cid++;
      await bank.update(txn, bank.keyOf([id]), (row) => [row[0]!, (row[1] as number) + 1000]);
    }
    for (let j = 0; j < 8; j++) {
      txn.cid++;
      await hist.insert(txn, [next++, 0, 1, 1000]); // never acknowledged, never committed
    }
  } catch (error) {
    if (txn.state === "active") txns.rollback(txn);
    if (error instanceof DeadlockError) return;
    throw error;
  }
  await txns.rollbackInSlices(txn);
}
async function roller(): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 5));
    await bigRollback();
  }
}
async function checkpointer(): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 15));
    await storage.checkpoint();
  }
}
say("READY");
await Promise.all([
  committer(),
  committer(),
  committer(),
  committer(),
  checkpointer(),
  roller(),
]);
