import assert from "node:assert/strict";
import { BlockDevice } from "../../hw/block_device.ts";
import { crossings } from "../../hw/crossings.ts";
import { type FileBackend, flushDirectory, openFileDevice } from "../../hw/disk_file.ts";
import { DeviceError } from "../../lib/errors.ts";
import { Rng } from "../../lib/rng.ts";

for (const backend of ["ffi", "op"] as FileBackend[]) {
  Deno.test(`${backend} file device: blocks and batches round-trip, and every call is counted`, () => {
    const dir = Deno.makeTempDirSync({ prefix: "exodb-file-" });
    try {
      const raw = openFileDevice(`${dir}/disk.img`, { create: true, backend });
      const device = new BlockDevice(raw, 8192);
      device.grow(32);
      assert.equal(device.blockCount(), 32);
      assert.equal(Deno.statSync(`${dir}/disk.img`).size, 32 * 8192, "space reserved at once");
      const rng = new Rng(3);
      const blocks = Array.from({ length: 8 }, () => {
        const b = new Uint8Array(8192);
        rng.fill(b);
        return b;
      });
      const countKind = backend === "ffi" ? "ffi_call" : "runtime_op";
      const before = crossings.snapshot()[countKind].count;
      device.write(3, blocks[0]!);
      device.writeRun(10, blocks);
      device.flush();
      const afterWrites = crossings.snapshot()[countKind].count;
      // ffi: one pwrite, one pwritev for the whole run, one fdatasync; op: one op per block.
      assert.equal(afterWrites - before, backend === "ffi" ? 3 : 1 + 8 + 1);
      const one = new Uint8Array(8192);
      device.read(3, one);
      assert.deepEqual(one, blocks[0]);
      // Read the run back into views of one shared memory, as the buffer pool does.
      const frames = new SharedArrayBuffer(8 * 8192);
      const targets = blocks.map((_, i) => new Uint8Array(frames, i * 8192, 8192));
      device.readRun(10, targets);
      for (let i = 0; i < blocks.length; i++) {
        assert.deepEqual(targets[i]!.slice(), blocks[i], `block ${10 + i}`);
      }
      assert.throws(() => raw.read(new Uint8Array(8192), 32 * 8192), DeviceError, "past the end");
      device.close();
      flushDirectory(dir);
      const reopened = new BlockDevice(openFileDevice(`${dir}/disk.img`, { backend }), 8192);
      assert.equal(reopened.blockCount(), 32);
      reopened.read(12, one);
      assert.deepEqual(one, blocks[2]);
      reopened.close();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });

  Deno.test(`${backend} file device: opening a missing file or creating an existing one fails with a DeviceError`, () => {
    const dir = Deno.makeTempDirSync({ prefix: "exodb-file-" });
    try {
      assert.throws(
        () => openFileDevice(`${dir}/missing.img`, { backend }),
        (e) => e instanceof DeviceError && e.code === "ENOENT",
      );
      openFileDevice(`${dir}/there.img`, { create: true, backend }).close();
      assert.throws(
        () => openFileDevice(`${dir}/there.img`, { create: true, backend }),
        (e) => e instanceof DeviceError && e.code === "EEXIST",
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

for (const backend of ["ffi", "op"] as FileBackend[]) {
  Deno.test(`${backend} file device: flushAsync syncs off the calling thread`, async () => {
    const dir = Deno.makeTempDirSync({ prefix: "exodb-file-" });
    try {
      const device = new BlockDevice(
        openFileDevice(`${dir}/a.img`, { create: true, backend }),
        4096,
      );
      device.grow(4);
      device.write(1, new Uint8Array(4096).fill(1));
      const hops = crossings.snapshot().thread_hop.count;
      let ticked = false;
      const tick = new Promise<void>((resolve) =>
        setTimeout(() => {
          ticked = true;
          resolve();
        }, 0)
      );
      await Promise.all([device.flushAsync(), tick]);
      assert.ok(ticked);
      assert.equal(crossings.snapshot().thread_hop.count - hops, 1);
      device.close();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}
