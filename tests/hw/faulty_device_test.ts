import assert from "node:assert/strict";
import { FaultyDevice, sectorSizeBytes } from "../../hw/disk_faulty.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import { DeviceError } from "../../lib/errors.ts";

function filled(length: number, value: number): Uint8Array {
  return new Uint8Array(length).fill(value);
}

function setup(seed = 1) {
  const memory = new MemoryDevice("faulty", 64 * 1024);
  return { memory, device: new FaultyDevice(memory, seed) };
}

Deno.test("unsynced writes are visible to reads but reach the medium only at flush", () => {
  const { memory, device } = setup();
  device.write(filled(4096, 7), 8192);
  const seen = new Uint8Array(4096);
  device.read(seen, 8192);
  assert.deepEqual(seen, filled(4096, 7));
  assert.equal(memory.bytes()[8192], 0, "not on the medium before flush");
  assert.equal(device.pendingWriteCount(), 1);
  device.flush();
  assert.equal(device.pendingWriteCount(), 0);
  assert.equal(memory.bytes()[8192], 7);
});

Deno.test("a read overlapping part of a pending write sees exactly the overlapped bytes", () => {
  const { device } = setup();
  device.write(filled(100, 9), 50);
  const seen = new Uint8Array(100);
  device.read(seen, 0);
  assert.deepEqual(seen.subarray(0, 50), new Uint8Array(50));
  assert.deepEqual(seen.subarray(50), filled(50, 9));
});

Deno.test("crash keeps, drops or garbles each pending write, roughly 3/8, 3/8, 1/4", () => {
  const { memory, device } = setup(42);
  const writes = 2000;
  const big = new MemoryDevice("big", writes * 512);
  const faulty = new FaultyDevice(big, 42);
  for (let i = 0; i < writes; i++) faulty.write(filled(512, 0xab), i * 512);
  const report = faulty.crash();
  assert.equal(report.kept + report.dropped + report.garbled, writes);
  assert.ok(Math.abs(report.kept / writes - 3 / 8) < 0.05, `kept ${report.kept}`);
  assert.ok(Math.abs(report.dropped / writes - 3 / 8) < 0.05, `dropped ${report.dropped}`);
  assert.ok(Math.abs(report.garbled / writes - 1 / 4) < 0.05, `garbled ${report.garbled}`);
  let kept = 0;
  let untouched = 0;
  for (let i = 0; i < writes; i++) {
    const sector = big.bytes().subarray(i * 512, i * 512 + 512);
    if (sector.every((b) => b === 0xab)) kept++;
    else if (sector.every((b) => b === 0)) untouched++;
  }
  assert.equal(kept, report.kept, "kept writes are on the medium whole");
  assert.equal(untouched, report.dropped, "dropped writes left the old bytes");
  assert.throws(() => faulty.read(new Uint8Array(1), 0), DeviceError, "dead after the crash");
  memory.close();
  device.close();
});

Deno.test("crash outcomes replay from the seed", () => {
  const outcome = (seed: number) => {
    const memory = new MemoryDevice("seeded", 100 * 512);
    const device = new FaultyDevice(memory, seed);
    for (let i = 0; i < 100; i++) device.write(filled(512, 1), i * 512);
    device.crash();
    return memory.bytes().slice();
  };
  assert.deepEqual(outcome(5), outcome(5));
  assert.notDeepEqual(outcome(5), outcome(6));
});

Deno.test("EIO and ENOSPC fire on the Nth call, once or persistently", () => {
  const { device } = setup();
  device.inject({ operation: "write", nth: 2, action: "eio" });
  device.write(filled(512, 1), 0);
  assert.throws(
    () => device.write(filled(512, 1), 512),
    (e) => e instanceof DeviceError && e.code === "EIO",
  );
  device.write(filled(512, 1), 1024);
  device.inject({ operation: "read", nth: 1, action: "enospc", persistent: true });
  for (let i = 0; i < 3; i++) {
    assert.throws(
      () => device.read(new Uint8Array(512), 0),
      (e) => e instanceof DeviceError && e.code === "ENOSPC" && e.sqlState === "53100",
    );
  }
  assert.equal(device.fired.eio, 1);
  assert.equal(device.fired.enospc, 3);
});

Deno.test("a failed flush forgets the pending writes: a retried flush cannot be trusted", () => {
  const { memory, device } = setup();
  device.write(filled(512, 3), 0);
  device.inject({ operation: "flush", nth: 1, action: "eio" });
  assert.throws(() => device.flush(), DeviceError);
  device.flush(); // "succeeds", like Linux after fsyncgate…
  assert.equal(memory.bytes()[0], 0, "…but the write is gone");
});

Deno.test("drop, tear, garble and misdirect report success and damage the write", () => {
  const { memory, device } = setup(9);
  device.inject({ operation: "write", nth: 1, action: "drop" });
  device.inject({ operation: "write", nth: 2, action: "tear", tearSectors: 3 });
  device.inject({ operation: "write", nth: 3, action: "garble" });
  device.inject({ operation: "write", nth: 4, action: "misdirect", misdirectBytes: 8192 });
  device.write(filled(8192, 1), 0);
  device.write(filled(8192, 2), 8192);
  device.write(filled(8192, 3), 16384);
  device.write(filled(8192, 4), 24576);
  device.flush();
  const bytes = memory.bytes();
  assert.ok(bytes.subarray(0, 8192).every((b) => b === 0), "dropped");
  const torn = bytes.subarray(8192, 16384);
  assert.ok(torn.subarray(0, 3 * sectorSizeBytes).every((b) => b === 2), "first sectors landed");
  assert.ok(torn.subarray(3 * sectorSizeBytes).every((b) => b === 0), "the rest did not");
  const garbled = bytes.subarray(16384, 24576);
  assert.ok(!garbled.every((b) => b === 3) && !garbled.every((b) => b === 0), "garbled");
  assert.ok(bytes.subarray(24576, 32768).every((b) => b === 0), "misdirected away");
  assert.ok(bytes.subarray(32768, 40960).every((b) => b === 4), "landed one block later");
  assert.deepEqual({ ...device.fired }, {
    eio: 0,
    enospc: 0,
    drop: 1,
    tear: 1,
    garble: 1,
    misdirect: 1,
  });
});
