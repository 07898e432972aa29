/**
 * The I/O worker: transfers through the ring land in the caller's memory (pool-style shared
 * frames and ordinary buffers), vectored calls move whole runs, syncs settle asynchronously and
 * coalesce, errors come back as DeviceErrors, and the kernel thread makes no runtime op or FFI
 * call for a transfer once an address is known.
 */
import assert from "node:assert/strict";
import { crossings, diffCrossings } from "../../hw/crossings.ts";
import { DeviceError } from "../../lib/errors.ts";
import { RingIo } from "../../io/io_worker/ring_io.ts";

const blockBytes = 8192;

async function withRing(fn: (io: RingIo, path: string) => Promise<void> | void) {
  const io = await RingIo.start({ idleSpins: 1_000, waitSpins: 1_000 });
  assert.ok(io !== undefined, "FFI is available in tests");
  const dir = Deno.makeTempDirSync({ prefix: "exodb-ring-io-" });
  try {
    await fn(io, `${dir}/image`);
  } finally {
    io.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

function pattern(seed: number, length = blockBytes): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

Deno.test("ring I/O: writes and reads round-trip into shared frames and plain buffers", async () => {
  await withRing((io, path) => {
    const device = io.open(path, true);
    device.allocate(16 * blockBytes);
    assert.equal(device.sizeBytes(), 16 * blockBytes);
    for (let b = 0; b < 16; b++) device.write(pattern(b), b * blockBytes);
    const frames = new Uint8Array(new SharedArrayBuffer(4 * blockBytes));
    const frame2 = frames.subarray(2 * blockBytes, 3 * blockBytes);
    device.read(frame2, 5 * blockBytes);
    assert.deepEqual(frame2, pattern(5));
    const plain = new Uint8Array(blockBytes);
    device.read(plain, 9 * blockBytes);
    assert.deepEqual(plain, pattern(9));
    // A vectored run into scattered frames, then out of them to other blocks.
    const targets = [3, 0, 1].map((f) => frames.subarray(f * blockBytes, (f + 1) * blockBytes));
    device.readBatch(targets, 10 * blockBytes);
    targets.forEach((t, i) => assert.deepEqual(t, pattern(10 + i)));
    device.writeBatch(targets, 0);
    const check = new Uint8Array(3 * blockBytes);
    device.read(check, 0);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(check.subarray(i * blockBytes, (i + 1) * blockBytes), pattern(10 + i));
    }
    device.flush();
    device.close();
  });
});

Deno.test("ring I/O: a transfer makes no runtime op, FFI call or I/O syscall on the calling thread", async () => {
  await withRing((io, path) => {
    const device = io.open(path, true);
    device.allocate(8 * blockBytes);
    const frames = new Uint8Array(new SharedArrayBuffer(8 * blockBytes));
    device.read(frames.subarray(0, blockBytes), 0); // takes the buffer's address once
    const before = crossings.snapshot();
    const statsBefore = io.stats();
    const workerBefore = statsBefore.worker.syscalls;
    for (let i = 0; i < 100; i++) {
      const f = i % 8;
      device.write(frames.subarray(f * blockBytes, (f + 1) * blockBytes), f * blockBytes);
      device.read(frames.subarray(f * blockBytes, (f + 1) * blockBytes), f * blockBytes);
    }
    const after = crossings.snapshot();
    assert.equal(after.runtime_op.count - before.runtime_op.count, 0);
    assert.equal(after.ffi_call.count - before.ffi_call.count, 0);
    // Only futex calls: waking a sleeping worker, or sleeping while it works.
    const statsAfter = io.stats();
    const futex = statsAfter.wakesSent - statsBefore.wakesSent + statsAfter.syncSleeps -
      statsBefore.syncSleeps;
    assert.equal(after.syscall.count - before.syscall.count, futex);
    assert.equal(after.thread_hop.count - before.thread_hop.count, 200, "one hop per submission");
    assert.equal(io.stats().worker.syscalls - workerBefore, 200, "the worker made the syscalls");
    device.close();
  });
});

Deno.test("ring I/O: asynchronous syncs settle, in order, and coalesce when nothing was written", async () => {
  await withRing(async (io, path) => {
    const device = io.open(path, true);
    device.allocate(4 * blockBytes);
    device.write(pattern(1), 0);
    const syncsBefore = io.stats().worker.syncs;
    const settled: number[] = [];
    const all = [0, 1, 2, 3, 4].map((i) => device.flushAsync().then(() => settled.push(i)));
    await Promise.all(all);
    assert.deepEqual(settled, [0, 1, 2, 3, 4]);
    const stats = io.stats();
    assert.equal(stats.worker.syncs - syncsBefore, 1, "one real fdatasync for five requests");
    assert.ok(stats.worker.syncsCoalesced >= 4);
    assert.equal(stats.inFlight, 0);
    // A write between two syncs makes the second one real again.
    await device.flushAsync();
    device.write(pattern(2), blockBytes);
    await device.flushAsync();
    assert.equal(io.stats().worker.syncs - syncsBefore, 2);
    device.close();
  });
});

Deno.test("ring I/O: errors are DeviceErrors and the ring keeps working", async () => {
  await withRing((io, path) => {
    const device = io.open(path, true);
    device.allocate(2 * blockBytes);
    assert.throws(() => device.read(new Uint8Array(blockBytes), 2 * blockBytes), DeviceError);
    assert.throws(
      () => io.open(path, true),
      (e: unknown) => e instanceof DeviceError && /EEXIST/.test(e.message),
    );
    device.close();
    // A closed descriptor number reaches the worker only through a bug; the errno comes back.
    assert.throws(() => io.runSync(2, 1_000_000, 0, 0, 0, undefined), /EBADF/);
    const again = io.open(path, false);
    again.write(pattern(3), 0);
    const back = new Uint8Array(blockBytes);
    again.read(back, 0);
    assert.deepEqual(back, pattern(3));
    again.close();
  });
});

Deno.test("ring I/O: the launcher's read grant covers exactly the worker's module graph", async () => {
  const { ioWorkerModulePaths } = await import("../../io/io_worker/ring_io.ts");
  const info = new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      new URL("../../io/io_worker/worker_main.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { specifier: string }[];
  };
  const files = graph.modules.map((m) => new URL(m.specifier).pathname).sort();
  assert.deepEqual([...ioWorkerModulePaths].sort(), files);
});

Deno.test("ring I/O, direct transfers: reads and writes are FFI calls here, syncs go to the worker", async () => {
  await withRing(async (io, path) => {
    const device = io.open(path, true, "direct");
    device.allocate(4 * blockBytes);
    const before = crossings.snapshot();
    const syncsBefore = io.stats().worker.syncs;
    device.write(pattern(4), blockBytes);
    const back = new Uint8Array(blockBytes);
    device.read(back, blockBytes);
    assert.deepEqual(back, pattern(4));
    await device.flushAsync();
    const used = diffCrossings(crossings.snapshot(), before);
    assert.equal(used.ffi_call.count, 2, "one FFI call per transfer");
    assert.equal(used.runtime_op.count, 0);
    assert.equal(io.stats().worker.syncs - syncsBefore, 1, "the sync ran on the worker");
    // The worker never sees these writes, yet every sync after one must be a real fdatasync.
    for (let i = 0; i < 3; i++) {
      device.write(pattern(5 + i), 2 * blockBytes);
      await device.flushAsync();
      device.flush();
    }
    const stats = io.stats().worker;
    assert.equal(stats.syncs - syncsBefore, 4, "one real sync after each direct write");
    const coalescedBefore = stats.syncsCoalesced;
    await device.flushAsync(); // nothing written since: answered from the last sync
    assert.equal(io.stats().worker.syncs - syncsBefore, 4);
    assert.equal(io.stats().worker.syncsCoalesced - coalescedBefore, 1);
    assert.throws(() => device.read(back, 4 * blockBytes), DeviceError);
    device.close();
  });
});

Deno.test("ring I/O: a log flush is one request — write and sync on the worker, one hop", async () => {
  await withRing(async (io, path) => {
    for (const transfers of ["direct", "ring"] as const) {
      const device = io.open(`${path}-${transfers}`, true, transfers);
      device.allocate(4 * blockBytes);
      device.write(pattern(9), 0);
      await device.flushAsync();
      // The buffer is known to the ring already, as log buffers are: its address was taken
      // (one counted runtime op) by an earlier flush, so this one costs no op (rule 4).
      const buffer = pattern(10);
      await device.writeAndFlushAsync(buffer, blockBytes);
      const syncsBefore = io.stats().worker.syncs;
      const before = crossings.snapshot();
      await device.writeAndFlushAsync(buffer, blockBytes);
      const used = diffCrossings(crossings.snapshot(), before);
      assert.equal(used.thread_hop.count, 1, `${transfers}: one submission for write + sync`);
      assert.equal(used.ffi_call.count, 0, `${transfers}: no FFI call on this thread`);
      assert.equal(used.runtime_op.count, 0);
      assert.equal(io.stats().worker.syncs - syncsBefore, 1, "the sync was real");
      // A plain sync afterwards counts that write: it is not answered from an older sync.
      device.write(pattern(11), 2 * blockBytes);
      await device.flushAsync();
      assert.equal(io.stats().worker.syncs - syncsBefore, 2);
      const back = new Uint8Array(blockBytes);
      device.read(back, blockBytes);
      assert.deepEqual(back, pattern(10));
      await assert.rejects(
        () => device.writeAndFlushAsync(pattern(12), 4 * blockBytes),
        DeviceError,
      );
      device.close();
    }
  });
});
