/**
 * The log device's write → sync on a shared io_uring (hw/disk_uring.ts): many flushes in flight
 * land whole and in place, flushes in series keep using the ring, a blocking flush waits for what the ring still holds, a failing write
 * rejects with its errno and cancels its sync, the ring's other owner keeps its completions, and
 * closing releases one owner of the ring, not the ring.
 */
import assert from "node:assert/strict";
import { UringFlushDevice } from "../../hw/disk_uring.ts";
import { openFileDevice } from "../../hw/disk_file.ts";
import type { RawDevice } from "../../hw/raw_device.ts";
import { Uring, UringOp } from "../../hw/uring.ts";
import { DeviceError } from "../../lib/errors.ts";

const probe = Deno.build.os === "linux" ? Uring.open(8) : undefined;
probe?.close();
const ignore = probe === undefined;
if (ignore) console.log("disk_uring tests skipped: io_uring is unavailable here (Linux with FFI)");

const blockBytes = 4096;

/** A 64-block file device, a ring, and the wrapper over both; `run` gets all three. */
async function withDevice(
  run: (device: UringFlushDevice, inner: RawDevice, ring: Uring) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "exodb-disk-uring-" });
  const path = `${dir}/log.dev`;
  const inner = openFileDevice(path, { create: true, backend: "ffi" });
  inner.allocate(64 * blockBytes);
  const ring = Uring.open(64)!;
  const device = UringFlushDevice.wrap(inner, path, ring);
  try {
    assert.ok(device instanceof UringFlushDevice, "FFI is here, so the device wraps");
    await run(device, inner, ring);
  } finally {
    device.close();
    ring.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

function pattern(seed: number, length = blockBytes): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

Deno.test({
  name: "disk_uring: flushes in flight land whole, each at its offset",
  ignore,
  fn: () =>
    withDevice(async (device, inner) => {
      const count = 20; // 40 SQEs in flight at once on a 64-slot ring
      const sources = Array.from({ length: count }, (_, i) => pattern(i + 1, blockBytes * 2));
      await Promise.all(
        sources.map((bytes, i) => device.writeAndFlushAsync(bytes, i * 2 * blockBytes)),
      );
      assert.equal(device.inFlight, 0);
      assert.equal(device.stats.flushes, count);
      for (let i = 0; i < count; i++) {
        const back = new Uint8Array(blockBytes * 2);
        inner.read(back, i * 2 * blockBytes);
        assert.deepEqual(back, sources[i], `flush ${i} reads back`);
      }
    }),
});

Deno.test({
  name: "disk_uring: flushes one after another, many times the ring's slots, all go on the ring",
  ignore,
  fn: () =>
    withDevice(async (device, inner, ring) => {
      // 200 pairs through a 64-slot ring after one odd entry of another owner: the free-slot
      // count must follow the OS's head (a stale head once left it at 1 slot for good, and
      // every later flush fell back to the wrapped device).
      assert.ok(ring.push(UringOp.nop, -1, 0, 0, 0, 12));
      ring.submit();
      const count = 200;
      for (let i = 0; i < count; i++) {
        await device.writeAndFlushAsync(pattern(i + 1), (i % 64) * blockBytes);
      }
      assert.equal(device.stats.flushes, count, "every flush was a ring pair");
      const back = new Uint8Array(blockBytes);
      inner.read(back, ((count - 1) % 64) * blockBytes);
      assert.deepEqual(back, pattern(count));
    }),
});

Deno.test({
  name: "disk_uring: a blocking flush waits for the pair the ring still holds",
  ignore,
  fn: () =>
    withDevice(async (device, inner) => {
      let settled = false;
      const pending = device.writeAndFlushAsync(pattern(9), 5 * blockBytes).then(() => {
        settled = true;
      });
      device.flush(); // no turn of the event loop in between: only the drain can finish it
      assert.equal(device.inFlight, 0, "the flush drained the ring's pair");
      assert.ok(device.stats.blockingWaits >= 1, "the pair was still in flight when flush began");
      assert.equal(settled, false, "its promise settles in a later microtask");
      const back = new Uint8Array(blockBytes);
      inner.read(back, 5 * blockBytes);
      assert.deepEqual(back, pattern(9));
      await pending;
      assert.ok(settled);
    }),
});

Deno.test({
  name: "disk_uring: a failing write rejects with its errno, and the device goes on",
  ignore,
  fn: () =>
    withDevice(async (device) => {
      // Past any file size ext4 or xfs allow: pwrite fails (EFBIG or EINVAL), the link breaks.
      const far = 2 ** 53 - blockBytes;
      await assert.rejects(
        () => device.writeAndFlushAsync(pattern(3), far),
        (error: unknown) =>
          error instanceof DeviceError && /^(EFBIG|EINVAL)$/.test(error.code) &&
          error.message.includes("write and sync"),
      );
      // The device still works for the next request (the caller decides what a failure means).
      await device.writeAndFlushAsync(pattern(4), 0);
    }),
});

Deno.test({
  name: "disk_uring: the ring's net owner keeps its completions; close releases one owner",
  ignore,
  fn: () =>
    withDevice(async (device, _inner, ring) => {
      const seen: number[] = [];
      ring.handlers.net = (userData) => seen.push(userData);
      assert.ok(ring.push(UringOp.nop, -1, 0, 0, 0, 12));
      await device.writeAndFlushAsync(pattern(5), blockBytes);
      ring.reap();
      for (let i = 0; i < 100 && !seen.includes(12); i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        ring.reap();
      }
      assert.deepEqual(seen, [12], "the NOP went to the net handler, the pair's CQEs did not");
      device.close();
      assert.equal(ring.closed, false, "the test still owns the ring");
      assert.ok(ring.push(UringOp.nop, -1, 0, 0, 0, 13));
      ring.submit();
      ring.waitBlocking();
      ring.reap();
      assert.deepEqual(seen, [12, 13]);
    }),
});

Deno.test({
  name: "disk_uring: a flush submitted while the host is busy settles once it is idle, unticked",
  ignore,
  fn: () =>
    withDevice(async (device) => {
      // No NIC and no scheduler tick reaps here: the device itself must keep watching the ring.
      let busy = true;
      device.host = { busy: () => busy };
      const flushed = device.writeAndFlushAsync(pattern(6), 2 * blockBytes).then(() => "settled");
      setTimeout(() => busy = false, 20); // the host's task ends; nothing announces it
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<string>((resolve) =>
        timer = setTimeout(() => resolve("stuck"), 3000)
      );
      const outcome = await Promise.race([flushed, stuck]);
      clearTimeout(timer);
      assert.equal(outcome, "settled");
    }),
});
