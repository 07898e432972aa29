/**
 * The storage fault matrix (../shared/RELIABILITY.md section 7, rows 3, 4, 5 and 7): torn,
 * garbled, dropped and misdirected page writes during a checkpoint, bit flips at rest in data
 * blocks, and bit flips in the log. Every fault must be repaired from the log or detected —
 * never a wrong answer. The counts are printed and asserted.
 */
import assert from "node:assert/strict";
import type { BTree } from "../../dbengine/btree/btree.ts";
import { RecoveryError } from "../../dbengine/storage.ts";
import { CorruptBlockError } from "../../io/block.ts";
import type { FaultAction } from "../../hw/disk_faulty.ts";
import { Rng } from "../../lib/rng.ts";
import { blockSize, boot, type Machine, newMedia, powerLoss } from "./_crash_rig.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function contents(tree: BTree): Map<string, string> {
  const out = new Map<string, string>();
  let start: Uint8Array | undefined;
  for (;;) {
    const batch = tree.batch(start ? { start, startInclusive: false, limit: 500 } : { limit: 500 });
    if (batch.length === 0) return out;
    for (const e of batch) out.set(hex(e.key), hex(e.value));
    start = batch[batch.length - 1]!.key;
  }
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

function treeOf(machine: Machine): BTree {
  return machine.storage.openTree(machine.storage.store.meta("catalogRoot"), 1);
}

/** A machine with 400 committed, checkpointed keys, then 150 committed updates not yet checkpointed. */
async function prepared(seed: number) {
  const rng = new Rng(seed);
  const machine = await boot(newMedia(), seed, 32);
  const storage = machine.storage;
  const tree = storage.store.run(0, () => {
    const created = storage.createTree();
    storage.store.setMeta("catalogRoot", created.root);
    return created;
  });
  const model = new Map<string, string>();
  const put = (key: Uint8Array, value: Uint8Array) => {
    storage.store.run(1, () => tree.put(key, value));
    model.set(hex(key), hex(value));
  };
  for (let i = 0; i < 400; i++) {
    put(new Uint8Array([i >> 8, i & 0xff]), new Uint8Array(40).fill(i & 0xff));
  }
  await storage.commit(1);
  await storage.checkpoint();
  // Two committed batches after the checkpoint, so the log has a durable middle and a tail.
  let firstBatchEnd = 0;
  for (let i = 0; i < 150; i++) {
    const k = rng.nextInt(400);
    put(
      new Uint8Array([k >> 8, k & 0xff]),
      new Uint8Array(20 + rng.nextInt(60)).fill(rng.nextInt(256)),
    );
    if (i === 74) {
      await storage.commit(2);
      firstBatchEnd = storage.wal.flushedLsn;
    }
  }
  await storage.commit(3);
  return { machine, model, rng, firstBatchEnd };
}

Deno.test("page write faults during a checkpoint are detected or repaired, never served", async () => {
  // Outcome per trial: repaired (state exactly the committed one), detected (an XX001 on read
  // after restart), or silent (a wrong answer). Separately, how many faults the checkpoint's
  // read-back caught before it could complete.
  const counts: Record<
    string,
    {
      trials: number;
      caughtAtCheckpoint: number;
      repaired: number;
      detected: number;
      silent: number;
    }
  > = {};
  const actions: FaultAction[] = ["tear", "garble", "drop", "misdirect"];
  for (const action of actions) {
    counts[action] = { trials: 0, caughtAtCheckpoint: 0, repaired: 0, detected: 0, silent: 0 };
    for (let trial = 0; trial < 12; trial++) {
      const seed = 100 * (actions.indexOf(action) + 1) + trial;
      const { machine, model, rng } = await prepared(seed);
      machine.imageDevice.inject({
        operation: "write",
        nth: 1 + rng.nextInt(8),
        action,
        misdirectBytes: blockSize,
      });
      let detected = false;
      try {
        await machine.storage.checkpoint();
      } catch (error) {
        if (!/lost or misdirected write/.test(String(error))) throw error;
        detected = true;
      }
      const rebooted = await boot(powerLoss(machine), seed + 1, 32);
      const tree = treeOf(rebooted);
      let state: Map<string, string> | undefined;
      try {
        tree.check();
        state = contents(tree);
      } catch (error) {
        if (!(error instanceof CorruptBlockError)) throw error;
        state = undefined;
      }
      counts[action].trials++;
      if (detected) counts[action].caughtAtCheckpoint++;
      if (state !== undefined && sameMap(state, model)) counts[action].repaired++;
      else if (state === undefined) counts[action].detected++;
      else counts[action].silent++;
    }
  }
  console.log("page write faults:", JSON.stringify(counts));
  for (const action of actions) {
    assert.equal(counts[action]!.silent, 0, `${action}: no wrong answers`);
    assert.equal(counts[action]!.trials, 12);
  }
  // Every fault that hit a page is caught by the checkpoint's read-back and repaired from the
  // log's full-page images (faults that hit a superblock copy are survived by the other copy).
  for (const action of actions) {
    assert.equal(counts[action]!.repaired, 12, `${action}: all repaired`);
  }
});

Deno.test("bit flips at rest in data blocks are always detected (XX001), never a wrong row", async () => {
  let detected = 0;
  let trials = 0;
  for (let trial = 0; trial < 40; trial++) {
    const { machine, model, rng } = await prepared(900 + trial);
    await machine.storage.checkpoint();
    const media = powerLoss(machine);
    const tree = treeOf(await boot(media, 1, 32));
    const blocks = [...tree.check().blocks];
    const victim = blocks[rng.nextInt(blocks.length)]!;
    const bit = rng.nextInt(blockSize * 8);
    media.image.bytes()[victim * blockSize + (bit >> 3)]! ^= 1 << (bit & 7);
    const rebooted = await boot(media, 2, 32);
    trials++;
    try {
      const state = contents(treeOf(rebooted));
      assert.ok(
        sameMap(state, model),
        `trial ${trial}: a flipped bit in block ${victim} changed an answer`,
      );
    } catch (error) {
      if (!(error instanceof CorruptBlockError)) throw error;
      assert.equal(error.sqlState, "XX001");
      assert.equal(error.blockNumber, victim);
      detected++;
    }
  }
  console.log(
    `data bit flips: ${trials} trials, ${detected} detected, ${
      trials - detected
    } harmless, 0 wrong answers`,
  );
  assert.equal(detected, trials, "every flip in a used block is detected when the block is read");
});

/**
 * A flush batch is written only after the previous one is durable, so corruption followed by a
 * valid later batch is damage to durable log: boot is refused. Corruption inside the last batch
 * cannot be told from a write torn by the crash (PostgreSQL has the same limit): the log is cut
 * there and the boot log reports it.
 */
Deno.test("log bit flips: before the last flush refuse boot naming the LSN; in the last flush the log is cut and reported", async () => {
  let midRefused = 0;
  let tailCut = 0;
  for (let trial = 0; trial < 20; trial++) {
    const { machine, rng, firstBatchEnd } = await prepared(1700 + trial);
    const wal = machine.storage.wal;
    const end = wal.flushedLsn;
    const redo = wal.recycleLsn; // only the log after the last checkpoint's redo point matters
    const media = powerLoss(machine);
    const tail = trial % 2 === 1;
    // Mid-log: a byte well before the end; tail: inside the last sector written.
    const lsn = tail
      ? firstBatchEnd + rng.nextInt(end - firstBatchEnd - 600)
      : redo + rng.nextInt(firstBatchEnd - redo - 600);
    media.log.bytes()[wal.regionStartBytes + (lsn % wal.regionBytes)]! ^= 0x20;
    try {
      const rebooted = await boot(media, 3, 32);
      assert.ok(tail, "a mid-log flip never boots silently");
      assert.notEqual(rebooted.storage.recovery.endReason, "zeroed", "the cut is reported");
      tailCut++;
    } catch (error) {
      assert.ok(error instanceof RecoveryError, String(error));
      assert.match(
        error.message,
        /WAL record at LSN \d+ is corrupt .* valid records follow at LSN \d+/,
      );
      if (!tail) midRefused++;
      else tailCut++; // a flip in the tail's padding record with valid records before it
    }
  }
  console.log(`log bit flips: ${midRefused} mid-log refusals of 10, ${tailCut} tail cuts of 10`);
  assert.equal(midRefused, 10);
});
