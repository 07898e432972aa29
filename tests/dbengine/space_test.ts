import assert from "node:assert/strict";
import { Catalog, type NewTableDef } from "../../dbengine/catalog.ts";
import type { Storage } from "../../dbengine/storage.ts";
import { TypeId } from "../../dbengine/types.ts";
import { boot, newMedia } from "./_crash_rig.ts";

const column = (name: string, id: number) => ({
  name,
  type: { id, typmod: -1 } as never,
  notNull: false,
  defaultSql: null,
  missing: null,
  dropped: false,
  identity: null,
});
const items: NewTableDef = {
  name: "items",
  columns: [column("id", TypeId.integer), column("body", TypeId.text)],
  primaryKey: [0],
  primaryKeyName: "items_pkey",
  indexes: [],
  checks: [],
};

function withSnapshot<T>(storage: Storage, body: (snapshot: number) => T): T {
  const snapshot = storage.txns.snapshot();
  try {
    return body(snapshot);
  } finally {
    storage.txns.release(snapshot);
  }
}

async function setup() {
  const machine = await boot(newMedia(4096), 1, 64);
  const catalog = Catalog.open(machine.storage);
  const ddl = machine.storage.txns.begin();
  ddl.cid++;
  await catalog.createTable(ddl, items);
  await machine.storage.txns.commit(ddl);
  const table = withSnapshot(machine.storage, (s) => catalog.table("items", undefined, s))!;
  return { machine, storage: machine.storage, table };
}

Deno.test("a table filled and emptied in a loop (with vacuum) does not grow without bound", async () => {
  const { storage, table } = await setup();
  const body = "y".repeat(200);
  const highWater: number[] = [];
  for (let round = 0; round < 6; round++) {
    const fill = storage.txns.begin();
    fill.cid++;
    for (let i = 0; i < 2000; i++) await table.insert(fill, [i, body]);
    await storage.txns.commit(fill);
    const empty = storage.txns.begin();
    empty.cid++;
    for (let i = 0; i < 2000; i++) await table.delete(empty, table.keyOf([i]));
    await storage.txns.commit(empty);
    await table.vacuum(0);
    await storage.checkpoint();
    highWater.push(storage.store.meta("highWater"));
  }
  assert.ok(
    highWater[5]! <= highWater[1]! + 8,
    `high-water marks ${highWater.join(", ")}: space is reused`,
  );
  assert.equal(withSnapshot(storage, (s) => table.scan(undefined, s, { limit: 10 })).length, 0);
  assert.equal(table.rows.tree.check().entries, 0, "vacuum removed every dead version");
});

Deno.test("a full disk is a clean 53100 error: nothing half-done, reads work, writes resume", async () => {
  const { machine, storage, table } = await setup();
  machine.imageDevice.inject({ operation: "allocate", nth: 1, action: "enospc", persistent: true });
  const txn = storage.txns.begin();
  txn.cid++;
  let inserted = 0;
  let error: (Error & { sqlState?: string }) | undefined;
  for (let i = 0; i < 100_000 && error === undefined; i++) {
    try {
      await table.insert(txn, [i, "z".repeat(500)]);
      inserted++;
    } catch (e) {
      error = e as Error & { sqlState?: string };
    }
  }
  assert.ok(error !== undefined, "the disk filled up");
  assert.equal(error.sqlState, "53100", error.message);
  assert.equal(
    storage.store.poisoned,
    undefined,
    "the failure happened before any change: nothing half-done",
  );
  storage.txns.rollback(txn);
  assert.equal(
    withSnapshot(storage, (s) => table.scan(undefined, s, { limit: 10 })).length,
    0,
    "reads work",
  );
  machine.imageDevice.clearFaults();
  const again = storage.txns.begin();
  again.cid++;
  for (let i = 0; i < inserted + 100; i++) await table.insert(again, [i, "z".repeat(500)]);
  await storage.txns.commit(again);
  assert.equal(
    withSnapshot(storage, (s) => table.scan(undefined, s, { limit: 1e6 })).length,
    inserted + 100,
  );
});
