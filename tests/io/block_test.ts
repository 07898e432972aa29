import assert from "node:assert/strict";
import { BlockDevice } from "../../hw/block_device.ts";
import { FaultyDevice } from "../../hw/disk_faulty.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import {
  blockHeaderBytes,
  BlockType,
  checksumMatches,
  CorruptBlockError,
  type CorruptionReason,
  readHeader,
  sealBlock,
  storedChecksum,
  verifyBlock,
} from "../../io/block.ts";
import { Rng } from "../../lib/rng.ts";

const imageTag = 0x5eed;

function sealed(blockNumber: number, seed: number): Uint8Array {
  const block = new Uint8Array(8192);
  new Rng(seed).fill(block.subarray(blockHeaderBytes));
  sealBlock(block, { type: BlockType.test, blockNumber, imageTag, lsn: 77 });
  return block;
}

function rejects(block: Uint8Array, blockNumber: number, reason: CorruptionReason) {
  assert.throws(() => verifyBlock(block, "disk.img", blockNumber, imageTag), (error) => {
    assert.ok(error instanceof CorruptBlockError);
    assert.equal(error.reason, reason);
    assert.equal(error.sqlState, "XX001");
    assert.equal(error.blockNumber, blockNumber);
    assert.match(
      error.message,
      new RegExp(`^invalid page in block ${blockNumber} of disk\\.img: `),
    );
    return true;
  });
}

Deno.test("a sealed block verifies and keeps its header fields", () => {
  const block = sealed(42, 1);
  verifyBlock(block, "disk.img", 42, imageTag);
  const header = readHeader(block);
  assert.equal(header.blockNumber, 42);
  assert.equal(header.lsn, 77);
  assert.equal(header.type, BlockType.test);
  assert.equal(header.checksum, storedChecksum(block));
  assert.ok(checksumMatches(block));
});

Deno.test("every single flipped bit in a block is detected as a checksum failure", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 2000; trial++) {
    const block = sealed(7, trial);
    const bit = rng.nextInt(8192 * 8);
    block[bit >> 3]! ^= 1 << (bit & 7);
    rejects(block, 7, "checksum");
  }
});

Deno.test("large block numbers and LSNs beyond 32 bits round-trip", () => {
  const block = new Uint8Array(8192);
  sealBlock(block, { type: BlockType.test, blockNumber: 2 ** 40 - 1, imageTag, lsn: 2 ** 52 + 3 });
  const header = readHeader(block);
  assert.equal(header.blockNumber, 2 ** 40 - 1);
  assert.equal(header.lsn, 2 ** 52 + 3);
  verifyBlock(block, "disk.img", 2 ** 40 - 1, imageTag);
});

Deno.test("torn writes (k of 16 sectors landed, k = 1..15) are each detected", () => {
  for (let sectors = 1; sectors <= 15; sectors++) {
    const memory = new MemoryDevice("torn", 4 * 8192);
    const device = new BlockDevice(memory, 8192);
    device.write(1, sealed(1, 100)); // the old version is on disk
    const faulty = new FaultyDevice(memory, sectors);
    faulty.inject({ operation: "write", nth: 1, action: "tear", tearSectors: sectors });
    new BlockDevice(faulty, 8192).write(1, sealed(1, 200)); // the new version tears
    faulty.flush();
    const read = new Uint8Array(8192);
    device.read(1, read);
    rejects(read, 1, "checksum");
  }
});

Deno.test("a misdirected write is caught by the block number, both where it landed and where it was meant", () => {
  const memory = new MemoryDevice("misdirected", 8 * 8192);
  const device = new BlockDevice(memory, 8192);
  const faulty = new FaultyDevice(memory, 1);
  faulty.inject({ operation: "write", nth: 1, action: "misdirect", misdirectBytes: 8192 });
  new BlockDevice(faulty, 8192).write(2, sealed(2, 1)); // lands on block 3
  faulty.flush();
  const read = new Uint8Array(8192);
  device.read(3, read);
  rejects(read, 3, "misdirected");
  device.read(2, read);
  rejects(read, 2, "zeroed");
});

Deno.test("a block from another image is refused as foreign", () => {
  const block = new Uint8Array(8192);
  sealBlock(block, { type: BlockType.test, blockNumber: 9, imageTag: 0x1234, lsn: 0 });
  rejects(block, 9, "foreign");
});

Deno.test("blocks at any byte offset of a received frame verify and are told apart", () => {
  // A backup frame carries blocks after headers and WAL records of any length.
  const frame = new Uint8Array(1 + 8192 * 2);
  frame.set(sealed(9, 3), 1);
  verifyBlock(frame.subarray(1, 1 + 8192), "disk.img", 9, imageTag);
  rejects(frame.subarray(1 + 8192), 10, "zeroed");
  frame[1 + 8192 + 100] = 1;
  rejects(frame.subarray(1 + 8192), 10, "checksum");
});
