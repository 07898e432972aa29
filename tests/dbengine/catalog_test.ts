import assert from "node:assert/strict";
import { Catalog, type NewTableDef } from "../../dbengine/catalog.ts";
import { NotNullViolationError } from "../../dbengine/table.ts";
import { UniqueViolationError } from "../../dbengine/mvcc.ts";
import { type SqlValue, TypeId } from "../../dbengine/types.ts";
import type { Storage } from "../../dbengine/storage.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";

const int = { id: TypeId.integer, typmod: -1 } as const;
const text = { id: TypeId.text, typmod: -1 } as const;
const column = (name: string, type: typeof int | typeof text, notNull = false) => ({
  name,
  type,
  notNull,
  defaultSql: null,
  missing: null,
  dropped: false,
  identity: null,
});

function accounts(name = "accounts"): NewTableDef {
  return {
    name,
    columns: [column("id", int, true), column("email", text), column("balance", int)],
    primaryKey: [0],
    primaryKeyName: `${name}_pkey`,
    indexes: [{
      name: `${name}_email_key`,
      columns: [{ column: 1, descending: false }],
      unique: true,
    }],
    checks: [],
  };
}

async function withCatalog() {
  const machine = await boot(newMedia(2048), 1, 128);
  return { machine, storage: machine.storage, catalog: Catalog.open(machine.storage) };
}

function snapshotRead<T>(storage: Storage, body: (snapshot: number) => T): T {
  const snapshot = storage.txns.snapshot();
  try {
    return body(snapshot);
  } finally {
    storage.txns.release(snapshot);
  }
}

Deno.test("CREATE TABLE is transactional: invisible until commit, gone after rollback", async () => {
  const { storage, catalog } = await withCatalog();
  const t1 = storage.txns.begin();
  t1.cid++;
  await catalog.createTable(t1, accounts());
  t1.cid++;
  assert.notEqual(
    snapshotRead(storage, (s) => catalog.tableDef("accounts", t1, s)),
    null,
    "own DDL visible",
  );
  assert.equal(
    snapshotRead(storage, (s) => catalog.tableDef("accounts", undefined, s)),
    null,
    "others do not see it",
  );
  storage.txns.rollback(t1);
  assert.equal(snapshotRead(storage, (s) => catalog.tableDef("accounts", undefined, s)), null);
  const t2 = storage.txns.begin();
  t2.cid++;
  await catalog.createTable(t2, accounts());
  await storage.txns.commit(t2);
  const t3 = storage.txns.begin();
  t3.cid++;
  await assert.rejects(
    catalog.createTable(t3, accounts()),
    (e: Error & { sqlState?: string }) => e.sqlState === "42P07",
  );
  storage.txns.rollback(t3);
  assert.deepEqual(snapshotRead(storage, (s) => catalog.tables(undefined, s).map((t) => t.name)), [
    "accounts",
  ]);
});

Deno.test("rows with a primary key and a unique index: lookups, index scans, violations, not-null", async () => {
  const { storage, catalog } = await withCatalog();
  const ddl = storage.txns.begin();
  ddl.cid++;
  await catalog.createTable(ddl, accounts());
  await storage.txns.commit(ddl);
  const t = storage.txns.begin();
  t.cid++;
  const table = snapshotRead(storage, (s) => catalog.table("accounts", t, s))!;
  for (let i = 1; i <= 500; i++) await table.insert(t, [i, `user${i}@x`, i * 10]);
  await assert.rejects(
    table.insert(t, [7, "other@x", 0]),
    (e) => e instanceof UniqueViolationError && /accounts_pkey/.test(e.message),
  );
  await assert.rejects(
    table.insert(t, [9999, "user5@x", 0]),
    (e) => e instanceof UniqueViolationError && /accounts_email_key/.test(e.message),
  );
  await assert.rejects(table.insert(t, [null, "n@x", 0]), NotNullViolationError);
  await table.insert(t, [10_000, null, 0]);
  await table.insert(t, [10_001, null, 0]); // NULLs never conflict
  await storage.txns.commit(t);
  snapshotRead(storage, (s) => {
    assert.deepEqual(table.get(table.keyOf([42]), undefined, s), [42, "user42@x", 420]);
    const byEmail = table.indexScan("accounts_email_key", undefined, s, {
      start: table.indexPrefix(table.def.indexes[0]!, ["user42@x"]),
      end: table.indexPrefix(table.def.indexes[0]!, ["user42@x"]),
      endInclusive: true,
    });
    assert.deepEqual(byEmail.map((r) => r.values), [[42, "user42@x", 420]]);
    assert.equal(table.scan(undefined, s, { limit: 10_000 }).length, 502);
  });
  // An update that changes the indexed column: the old entry no longer finds the row.
  const u = storage.txns.begin();
  u.cid++;
  await table.update(u, table.keyOf([42]), (row) => [row[0]!, "changed@x", row[2]!]);
  await storage.txns.commit(u);
  snapshotRead(storage, (s) => {
    const old = table.indexScan("accounts_email_key", undefined, s, {
      start: table.indexPrefix(table.def.indexes[0]!, ["user42@x"]),
      end: table.indexPrefix(table.def.indexes[0]!, ["user42@x"]),
      endInclusive: true,
    });
    assert.equal(old.length, 0, "the stale entry is filtered by the recheck");
  });
  const v = await table.vacuum(0);
  assert.ok(v.versions >= 1 && v.indexEntries >= 1, JSON.stringify(v));
});

Deno.test("tables without a primary key get hidden row ids from a sequence that survives a crash", async () => {
  const { machine, storage, catalog } = await withCatalog();
  const ddl = storage.txns.begin();
  ddl.cid++;
  await catalog.createTable(ddl, { ...accounts("history"), primaryKey: [], indexes: [] });
  await storage.txns.commit(ddl);
  const t = storage.txns.begin();
  t.cid++;
  const table = snapshotRead(storage, (s) => catalog.table("history", t, s))!;
  for (let i = 0; i < 100; i++) await table.insert(t, [1, "same", 5]); // duplicates are fine
  await storage.txns.commit(t);
  const rebooted = await boot(powerLoss(machine), 4, 128);
  const catalog2 = Catalog.open(rebooted.storage);
  const t2 = rebooted.storage.txns.begin();
  t2.cid++;
  const table2 = snapshotRead(rebooted.storage, (s) => catalog2.table("history", t2, s))!;
  for (let i = 0; i < 10; i++) await table2.insert(t2, [2, "after", 6]);
  await rebooted.storage.txns.commit(t2);
  const rows: SqlValue[][] = snapshotRead(
    rebooted.storage,
    (s) => table2.scan(undefined, s, { limit: 1000 }).map((r) => r.values),
  );
  assert.equal(rows.length, 110, "no row id was reused after the crash");
});

Deno.test("DROP TABLE rolls back; after commit its pages return to the free list", async () => {
  const { storage, catalog } = await withCatalog();
  const ddl = storage.txns.begin();
  ddl.cid++;
  await catalog.createTable(ddl, accounts());
  ddl.cid++; // the next statement sees the CREATE
  const table = snapshotRead(storage, (s) => catalog.table("accounts", ddl, s))!;
  for (let i = 1; i <= 2000; i++) await table.insert(ddl, [i, `u${i}`, i]);
  await storage.txns.commit(ddl);
  const freeBefore = storage.store.meta("freeHead");
  const drop = storage.txns.begin();
  drop.cid++;
  assert.equal(await catalog.dropTable(drop, "accounts"), true);
  storage.txns.rollback(drop);
  assert.notEqual(
    snapshotRead(storage, (s) => catalog.tableDef("accounts", undefined, s)),
    null,
    "the drop was undone",
  );
  const drop2 = storage.txns.begin();
  drop2.cid++;
  await catalog.dropTable(drop2, "accounts");
  await storage.txns.commit(drop2);
  assert.equal(snapshotRead(storage, (s) => catalog.tableDef("accounts", undefined, s)), null);
  assert.notEqual(storage.store.meta("freeHead"), freeBefore, "the table's pages were freed");
});
