import assert from "node:assert/strict";
import { UniqueViolationError, type VersionedTree } from "../../dbengine/mvcc.ts";
import type { Storage } from "../../dbengine/storage.ts";
import { DeadlockError, type Transaction } from "../../dbengine/txn.ts";
import type { TaskContext } from "../../lib/task_context.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";
import { k, treeFor } from "./_versioned_tree.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const v = (s: string) => enc.encode(s);

/** Runs one statement of `txn`: bumps its command id and reads with a fresh snapshot. */
function read(
  storage: Storage,
  tree: VersionedTree,
  txn: Transaction | undefined,
  key: string,
): string | null {
  if (txn) txn.cid++;
  const snapshot = storage.txns.snapshot();
  try {
    const row = tree.get(k(key), txn, snapshot);
    return row === null ? null : dec.decode(row);
  } finally {
    storage.txns.release(snapshot);
  }
}

async function put(
  tree: VersionedTree,
  txn: Transaction,
  key: string,
  value: string | null,
  mode: "insert" | "upsert" | "update" | "delete" = "upsert",
) {
  txn.cid++;
  return await tree.write(txn, k(key), mode, () => (value === null ? null : v(value)));
}

async function setup() {
  const machine = await boot(newMedia(), 1, 64);
  return { machine, storage: machine.storage, tree: treeFor(machine.storage) };
}

Deno.test("READ COMMITTED: no dirty reads; a commit is seen by statements that start after it", async () => {
  const { storage, tree } = await setup();
  const t1 = storage.txns.begin();
  await put(tree, t1, "a", "one");
  assert.equal(read(storage, tree, t1, "a"), "one", "own writes are visible to the next statement");
  const t2 = storage.txns.begin();
  assert.equal(read(storage, tree, t2, "a"), null, "no dirty read");
  const before = storage.txns.snapshot(); // a statement of t2 that began before the commit
  await storage.txns.commit(t1);
  assert.equal(
    tree.get(k("a"), t2, before),
    null,
    "a snapshot taken before the commit does not see it",
  );
  storage.txns.release(before);
  assert.equal(read(storage, tree, t2, "a"), "one", "a new statement sees it");
});

Deno.test("a statement does not see its own writes (Halloween), the next one does", async () => {
  const { storage, tree } = await setup();
  const t = storage.txns.begin();
  t.cid++;
  await tree.write(t, k("x"), "insert", () => v("1"));
  const snapshot = storage.txns.snapshot();
  assert.equal(tree.get(k("x"), t, snapshot), null);
  storage.txns.release(snapshot);
  assert.equal(read(storage, tree, t, "x"), "1");
});

Deno.test("a second writer waits for the row lock, then sees the first writer's committed row", async () => {
  const { storage, tree } = await setup();
  const setupTxn = storage.txns.begin();
  await put(tree, setupTxn, "n", "10");
  await storage.txns.commit(setupTxn);
  const t1 = storage.txns.begin();
  const t2 = storage.txns.begin();
  await put(tree, t1, "n", "11", "update");
  let seenByT2: string | null | undefined;
  t2.cid++;
  const waiting = tree.write(t2, k("n"), "update", (current) => {
    seenByT2 = current === null ? null : dec.decode(current);
    return v(String(Number(seenByT2) + 1));
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(seenByT2, undefined, "t2 is still waiting");
  assert.equal(storage.txns.stats.lockWaits, 1);
  await storage.txns.commit(t1);
  await waiting;
  assert.equal(seenByT2, "11", "t2 re-read the newest committed row after the wait");
  await storage.txns.commit(t2);
  assert.equal(read(storage, tree, undefined, "n"), "12");
});

Deno.test("rollback restores the previous row and releases waiters onto it", async () => {
  const { storage, tree } = await setup();
  const s = storage.txns.begin();
  await put(tree, s, "r", "orig");
  await storage.txns.commit(s);
  const t1 = storage.txns.begin();
  await put(tree, t1, "r", "changed", "update");
  await put(tree, t1, "new", "row", "insert");
  const t2 = storage.txns.begin();
  t2.cid++;
  let seen: string | undefined;
  const waiting = tree.write(t2, k("r"), "update", (current) => {
    seen = dec.decode(current!);
    return undefined;
  });
  storage.txns.rollback(t1);
  await waiting;
  assert.equal(seen, "orig");
  assert.equal(read(storage, tree, undefined, "r"), "orig");
  assert.equal(read(storage, tree, undefined, "new"), null);
  assert.equal(tree.versions(k("new")).length, 0, "rolled-back versions are physically gone");
});

Deno.test("a deadlock aborts one waiter with 40P01 and the other proceeds", async () => {
  const { storage, tree } = await setup();
  const t1 = storage.txns.begin();
  const t2 = storage.txns.begin();
  await put(tree, t1, "a", "t1");
  await put(tree, t2, "b", "t2");
  const first = put(tree, t1, "b", "t1"); // t1 waits for t2
  await new Promise((r) => setTimeout(r, 1));
  await assert.rejects(
    put(tree, t2, "a", "t2"),
    (e) => e instanceof DeadlockError && e.sqlState === "40P01",
  );
  storage.txns.rollback(t2); // the victim's session rolls back
  await first;
  await storage.txns.commit(t1);
  assert.equal(read(storage, tree, undefined, "a"), "t1");
  assert.equal(read(storage, tree, undefined, "b"), "t1");
});

Deno.test("unique keys: a duplicate insert fails with 23505, waits out a concurrent inserter, reuses a deleted key", async () => {
  const { storage, tree } = await setup();
  const t0 = storage.txns.begin();
  await put(tree, t0, "u", "first", "insert");
  await storage.txns.commit(t0);
  const dup = storage.txns.begin();
  await assert.rejects(
    put(tree, dup, "u", "again", "insert"),
    (e) => e instanceof UniqueViolationError && e.sqlState === "23505",
  );
  storage.txns.rollback(dup);
  // Concurrent inserts of one new key: the second waits; the first commits; the second fails.
  const a = storage.txns.begin();
  const b = storage.txns.begin();
  await put(tree, a, "c", "a", "insert");
  const second = put(tree, b, "c", "b", "insert");
  await storage.txns.commit(a);
  await assert.rejects(second, UniqueViolationError);
  storage.txns.rollback(b);
  // The same, but the first rolls back: the second succeeds.
  const c = storage.txns.begin();
  const d = storage.txns.begin();
  await put(tree, c, "e", "c", "insert");
  const other = put(tree, d, "e", "d", "insert");
  storage.txns.rollback(c);
  await other;
  await storage.txns.commit(d);
  assert.equal(read(storage, tree, undefined, "e"), "d");
  // Delete then insert again.
  const del = storage.txns.begin();
  await put(tree, del, "u", null, "delete");
  await put(tree, del, "u", "reborn", "insert");
  await storage.txns.commit(del);
  assert.equal(read(storage, tree, undefined, "u"), "reborn");
});

Deno.test("scans return the newest visible version of each key, forward and backward", async () => {
  const { storage, tree } = await setup();
  const t = storage.txns.begin();
  for (let i = 0; i < 300; i++) {
    await put(tree, t, `k${String(i).padStart(3, "0")}`, `v${i}`, "insert");
  }
  await storage.txns.commit(t);
  const u = storage.txns.begin();
  for (let i = 0; i < 300; i += 3) {
    await put(tree, u, `k${String(i).padStart(3, "0")}`, `w${i}`, "update");
  }
  for (let i = 1; i < 300; i += 3) {
    await put(tree, u, `k${String(i).padStart(3, "0")}`, null, "delete");
  }
  const other = storage.txns.snapshot();
  const before = tree.scan(undefined, other, { limit: 1000 });
  assert.equal(before.length, 300, "others see the committed state");
  assert.equal(dec.decode(before[0]!.row), "v0");
  storage.txns.release(other);
  await storage.txns.commit(u);
  const snap = storage.txns.snapshot();
  const after = tree.scan(undefined, snap, { limit: 1000 });
  assert.equal(after.length, 200);
  assert.equal(dec.decode(after[0]!.row), "w0");
  assert.equal(dec.decode(after[1]!.row), "v2");
  const backward = tree.scan(undefined, snap, { reverse: true, limit: 1000 });
  assert.deepEqual(
    backward.map((r) => dec.decode(r.row)),
    after.map((r) => dec.decode(r.row)).reverse(),
  );
  const ranged = tree.scan(undefined, snap, { start: k("k010"), end: k("k020"), limit: 1000 });
  // k010, k013, k016 and k019 were deleted; k012, k015, k018 updated; the end is exclusive.
  assert.deepEqual(ranged.map((r) => dec.decode(r.row)), [
    "v11",
    "w12",
    "v14",
    "w15",
    "v17",
    "w18",
  ]);
  storage.txns.release(snap);
  // Vacuum removes the superseded versions once no snapshot needs them.
  const removed = await tree.vacuum(0);
  assert.equal(
    removed,
    100 + 100 * 2,
    "100 old versions of updated rows, 100 tombstones with their rows",
  );
  const again = storage.txns.snapshot();
  assert.equal(tree.scan(undefined, again, { limit: 1000 }).length, 200);
  storage.txns.release(again);
});

Deno.test("after a crash, uncommitted versions are invisible and committed ones survive", async () => {
  const { machine, storage, tree } = await setup();
  const committed = storage.txns.begin();
  await put(tree, committed, "kept", "yes", "insert");
  await storage.txns.commit(committed);
  const loser = storage.txns.begin();
  await put(tree, loser, "kept", "overwritten", "update");
  await put(tree, loser, "phantom", "boo", "insert");
  await storage.checkpoint(); // the loser's versions reach the image; it is "active" in the record
  const rebooted = await boot(powerLoss(machine), 9, 64);
  assert.ok(
    rebooted.storage.recovery.losers.includes(loser.id),
    "the running transaction is a loser",
  );
  const tree2 = treeFor(rebooted.storage);
  assert.equal(read(rebooted.storage, tree2, undefined, "kept"), "yes");
  assert.equal(read(rebooted.storage, tree2, undefined, "phantom"), null);
  const writer = rebooted.storage.txns.begin();
  assert.ok(writer.id > loser.id, "transaction ids are never reused");
  await put(tree2, writer, "phantom", "real", "insert"); // the loser holds no lock
  await rebooted.storage.txns.commit(writer);
  assert.equal(read(rebooted.storage, tree2, undefined, "phantom"), "real");
});

Deno.test("synchronous_commit = off: the commit returns before its record is durable, and is visible at once", async () => {
  const { machine, storage, tree } = await setup();
  machine.logDevice.syncDelayMs = 50; // a slow disk: the sync is still running when commit returns
  const t = storage.txns.begin();
  await put(tree, t, "fast", "yes");
  const syncsBefore = storage.wal.stats.syncs;
  await storage.txns.commit(t, { synchronous: false });
  assert.equal(storage.wal.stats.syncs, syncsBefore, "no sync was waited for");
  assert.equal(read(storage, tree, undefined, "fast"), "yes");
  await storage.wal.flush();
  assert.ok(storage.wal.stats.syncs > syncsBefore, "the record is flushed in the background");
});

Deno.test("a crash part-way through a rollback in slices, after a checkpoint, leaves a loser", async () => {
  const { machine, storage, tree } = await setup();
  const committed = storage.txns.begin();
  for (let i = 0; i < 40; i++) await put(tree, committed, `r${i}`, "committed", "insert");
  await storage.txns.commit(committed);
  const loser = storage.txns.begin();
  for (let i = 0; i < 40; i++) await put(tree, loser, `r${i}`, "rolled back", "update");
  for (let i = 0; i < 40; i++) await put(tree, loser, `n${i}`, "rolled back", "insert");
  // The rollback yields after 16 undo steps: there a checkpoint runs and the power goes off,
  // so the log after the checkpoint holds nothing of the loser. Only the checkpoint record
  // (which must list the aborting transaction as active) tells recovery that the versions
  // not yet undone are not committed.
  let crashed: ReturnType<typeof powerLoss> | undefined;
  const context: TaskContext = {
    taskClass: "interactive",
    signal: undefined,
    shouldYield: () => true,
    yield: async () => {
      await storage.checkpoint();
      crashed = powerLoss(machine);
      await new Promise(() => {}); // the process is gone: the rollback never resumes
    },
    suspend: <T>(work: Promise<T>) => work,
  };
  void storage.txns.rollbackInSlices(loser, context);
  for (let i = 0; i < 100 && crashed === undefined; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(crashed !== undefined, "the rollback reached its first yield");
  const rebooted = await boot(crashed, 11, 64);
  assert.ok(rebooted.storage.recovery.losers.includes(loser.id), "a loser");
  const tree2 = treeFor(rebooted.storage);
  for (let i = 0; i < 40; i++) {
    assert.equal(read(rebooted.storage, tree2, undefined, `r${i}`), "committed");
    assert.equal(read(rebooted.storage, tree2, undefined, `n${i}`), null);
  }
});
