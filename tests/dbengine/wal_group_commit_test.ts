/**
 * Group commit on and off (the exo and conventional profiles): with it, commits waiting while a
 * sync runs share the next one; without it, each commit waits for a sync of its own, and every
 * commit still becomes durable.
 */
import assert from "node:assert/strict";
import { BlockDevice } from "../../hw/block_device.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import { Wal } from "../../dbengine/wal/wal.ts";
import { logSectorBytes, RecordType } from "../../dbengine/wal/record.ts";

/** A memory device whose asynchronous syncs take a few milliseconds and are counted. */
class SlowSyncDevice extends MemoryDevice {
  syncs = 0;
  override flushAsync(): Promise<void> {
    this.syncs++;
    return new Promise((resolve) => setTimeout(() => resolve(this.flush()), 3));
  }
}

async function commitConcurrently(groupCommit: boolean, commits: number) {
  const raw = new SlowSyncDevice("wal", 4 * 1024 * 1024);
  const device = new BlockDevice(raw, 8192);
  const start = 2 * 8192; // after the superblock copies, sector aligned
  assert.equal(start % logSectorBytes, 0);
  const wal = new Wal(device, { insertLsn: start, lastLsn: 0, recycleLsn: start });
  wal.groupCommit = groupCommit;
  const durable: number[] = [];
  await Promise.all(Array.from({ length: commits }, (_, i) => {
    const lsn = wal.append(RecordType.commit, 0, i + 1, new Uint8Array(16));
    return wal.flush(lsn + 1).then(() => {
      assert.ok(wal.flushedLsn > lsn, "resolved only once durable");
      durable.push(i);
    });
  }));
  return { syncs: raw.syncs, durable, stats: wal.stats };
}

Deno.test("WAL: group commit shares syncs among waiting commits", async () => {
  const { syncs, durable } = await commitConcurrently(true, 16);
  assert.equal(durable.length, 16);
  assert.ok(syncs <= 2, `16 concurrent commits took ${syncs} syncs`);
});

Deno.test("WAL: without group commit every commit waits for its own sync, in order", async () => {
  const { syncs, durable, stats } = await commitConcurrently(false, 16);
  assert.deepEqual(durable, Array.from({ length: 16 }, (_, i) => i));
  assert.equal(syncs, 16);
  assert.equal(stats.groupedCommits, 16);
});
