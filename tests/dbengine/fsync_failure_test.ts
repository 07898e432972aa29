import assert from "node:assert/strict";
import type { BTree } from "../../dbengine/btree/btree.ts";
import { boot, newMedia, powerLoss } from "./_crash_rig.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function keys(tree: BTree): string[] {
  return tree.batch({ limit: 10_000 }).map((e) => hex(e.key));
}

/**
 * fsyncgate: a failed log sync is never retried and trusted. The commit waiting on it fails
 * (58030), every later change is refused, and a restart recovers: every commit acknowledged
 * before the failure is there, and the failed one is all-or-nothing.
 */
Deno.test("a failed log sync stops writes with 58030; a restart recovers every acknowledged commit", async () => {
  for (const persistent of [false, true]) {
    const machine = await boot(newMedia(), 3, 32);
    const storage = machine.storage;
    const tree = storage.store.run(0, () => {
      const created = storage.createTree();
      storage.store.setMeta("catalogRoot", created.root);
      return created;
    });
    const acked: string[] = [];
    for (let i = 0; i < 50; i++) {
      const key = new Uint8Array([1, i]);
      storage.store.run(i + 1, () => tree.put(key, new Uint8Array([i])));
      await storage.commit(i + 1);
      acked.push(hex(key));
    }
    machine.logDevice.inject({ operation: "flush", nth: 1, action: "eio", persistent });
    storage.store.run(100, () => tree.put(new Uint8Array([2, 0]), new Uint8Array([9])));
    await assert.rejects(
      storage.commit(100),
      (e: Error & { sqlState?: string }) => e.sqlState === "58030",
    );
    // Never retried and trusted: the log refuses everything from now on, even if syncs work again.
    machine.logDevice.clearFaults();
    assert.throws(
      () => storage.store.run(101, () => tree.put(new Uint8Array([3, 0]), new Uint8Array([1]))),
      (e: Error & { sqlState?: string }) => e.sqlState === "58030",
    );
    await assert.rejects(
      storage.commit(102),
      (e: Error & { sqlState?: string }) => e.sqlState === "58030",
    );
    // Restart: recovery from the log on the medium.
    const rebooted = await boot(powerLoss(machine), 4, 32);
    const recovered = keys(
      rebooted.storage.openTree(rebooted.storage.store.meta("catalogRoot"), 1),
    );
    for (const key of acked) assert.ok(recovered.includes(key), `acknowledged ${key} survived`);
    assert.ok(!recovered.includes(hex(new Uint8Array([3, 0]))), "nothing after the failure");
    // The writes work again after the restart.
    const again = rebooted.storage.openTree(rebooted.storage.store.meta("catalogRoot"), 1);
    rebooted.storage.store.run(200, () => again.put(new Uint8Array([4, 0]), new Uint8Array([4])));
    await rebooted.storage.commit(200);
  }
});
