import assert from "node:assert/strict";
import { FaultyDevice } from "../../hw/disk_faulty.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import { MountError } from "../../lib/errors.ts";
import { crc32c } from "../../io/crc32c.ts";
import { formatDevice, type FormatOptions, mountDevice } from "../../io/disk_image.ts";

const options: FormatOptions = {
  role: "image",
  blockSizeBytes: 8192,
  initialBlocks: 16,
  extentBlocks: 8,
};

function formatted(label: string, overrides: Partial<FormatOptions> = {}) {
  const memory = new MemoryDevice(label);
  const image = formatDevice(memory, { ...options, ...overrides });
  return { memory, image };
}

function fingerprint(memory: MemoryDevice): number {
  return crc32c(memory.bytes());
}

function refused(memory: MemoryDevice, expect: Parameters<typeof mountDevice>[1], pattern: RegExp) {
  const before = fingerprint(memory);
  assert.throws(() => mountDevice(memory.reopen(), expect), (error) => {
    assert.ok(error instanceof MountError, `a MountError, got ${error}`);
    assert.match(error.message, pattern);
    assert.match(error.message, /memory:/, "the message names the device");
    return true;
  });
  assert.equal(fingerprint(memory), before, "a refused mount leaves the image untouched");
}

Deno.test("superblock round-trips through format and mount", () => {
  const { memory, image } = formatted("roundtrip", { blockSizeBytes: 16384 });
  const mounted = mountDevice(memory.reopen(), { role: "image", blockSizeBytes: 16384 });
  assert.deepEqual(mounted.superblock, image.superblock);
  assert.equal(mounted.superblock.blockCount, 16);
  assert.equal(mounted.superblock.sequence, 1);
  assert.match(mounted.superblock.imageId, /^[0-9a-f]{32}$/);
  assert.deepEqual(mounted.mountReport, []);
  mounted.writeSuperblock({ checkpointLsn: 12345 });
  const again = mountDevice(memory.reopen(), { role: "image" });
  assert.equal(again.superblock.sequence, 2);
  assert.equal(again.superblock.checkpointLsn, 12345);
});

Deno.test("one damaged superblock copy is reported and the other one used, for each copy", () => {
  for (const damaged of [0, 1]) {
    const { memory, image } = formatted(`bad-copy-${damaged}`);
    memory.bytes()[damaged * 8192 + 100]! ^= 0x10; // one flipped bit in the copy's payload
    const mounted = mountDevice(memory.reopen(), { role: "image", blockSizeBytes: 8192 });
    assert.equal(mounted.superblock.imageId, image.superblock.imageId);
    assert.equal(mounted.mountReport.length, 1);
    assert.match(mounted.mountReport[0]!, new RegExp(`copy ${damaged} is damaged \\(checksum\\)`));
    mounted.writeSuperblock(); // the repair boot makes
    assert.deepEqual(mountDevice(memory.reopen(), { role: "image" }).mountReport, []);
  }
});

Deno.test("mount takes the copy with the highest sequence when an update was interrupted", () => {
  const { memory } = formatted("interrupted");
  const faulty = new FaultyDevice(memory.reopen(), 1);
  const image = mountDevice(faulty, { role: "image" });
  faulty.inject({ operation: "write", nth: 2, action: "drop" }); // copy 1 of the update is lost
  image.writeSuperblock({ checkpointLsn: 99 });
  const mounted = mountDevice(memory.reopen(), { role: "image" });
  assert.equal(mounted.superblock.sequence, 2);
  assert.equal(mounted.superblock.checkpointLsn, 99);
});

Deno.test("refusals: no valid copy, foreign file, wrong version, block size, role, image, truncation", () => {
  const both = formatted("both-bad").memory;
  both.bytes()[100]! ^= 1;
  both.bytes()[8192 + 100]! ^= 1;
  refused(both, { role: "image" }, /no valid superblock copy/);

  const foreign = new MemoryDevice("foreign", 64 * 1024);
  foreign.bytes().set(new TextEncoder().encode("SQLite format 3\0"));
  refused(foreign, { role: "image" }, /not an ExoDB device/);

  const empty = new MemoryDevice("empty", 64 * 1024);
  refused(empty, { role: "image" }, /no valid superblock copy/);

  refused(
    formatted("size").memory,
    { role: "image", blockSizeBytes: 4096 },
    /formatted with 8192-byte blocks, configured for 4096/,
  );
  refused(formatted("role").memory, { role: "log" }, /it is a image device, expected log/);
  refused(
    formatted("image-id").memory,
    { role: "image", imageId: "0".repeat(32) },
    /belongs to image/,
  );

  const truncated = formatted("truncated").memory;
  truncated.truncate(10 * 8192);
  refused(truncated, { role: "image" }, /truncated, expected 131072 bytes, found 81920/);
});

Deno.test("a superblock from a newer format version refuses to mount", () => {
  const { memory } = formatted("version");
  for (const copy of [0, 1]) {
    const block = memory.bytes().subarray(copy * 8192, copy * 8192 + 8192);
    new DataView(block.buffer, block.byteOffset).setUint32(40, 2, true); // superblock version 2
    const view = new DataView(block.buffer, block.byteOffset);
    view.setUint32(0, crc32c(block.subarray(4)), true); // validly sealed, just newer
  }
  refused(memory, { role: "image" }, /superblock format version 2, this build reads 1/);
});

Deno.test("a full image grows by whole extents and records the new size durably", () => {
  const { memory, image } = formatted("grow");
  image.ensureBlock(15);
  assert.equal(image.blockCount, 16, "no growth needed");
  image.ensureBlock(16);
  assert.equal(image.blockCount, 24);
  image.ensureBlock(40);
  assert.equal(image.blockCount, 48);
  assert.equal(memory.sizeBytes(), 48 * 8192);
  assert.equal(mountDevice(memory.reopen(), { role: "image" }).superblock.blockCount, 48);
});
