/**
 * WAL records are sealed (CRC32C stored) a whole flush at a time: the native sealer and the
 * portable loop store exactly the CRC a record sealed on its own would carry, reject a run with a
 * bad length, and a flush of many records crosses into native code once for all of them.
 */
import assert from "node:assert/strict";
import { BlockDevice } from "../../hw/block_device.ts";
import { MemoryDevice } from "../../hw/disk_memory.ts";
import { crossings, diffCrossings } from "../../hw/crossings.ts";
import { RingIo } from "../../io/io_worker/ring_io.ts";
import { nativeSealRecords } from "../../hw/native.ts";
import { Wal, WalReader } from "../../dbengine/wal/wal.ts";
import {
  encodeRecord,
  logSectorBytes,
  recordHeaderBytes,
  RecordType,
  sealRecords,
  sealRecordsPortable,
} from "../../dbengine/wal/record.ts";

/** `count` records of random payloads back to back: sealed one by one, and left unsealed. */
function recordRun(count: number, seed: number): { sealed: Uint8Array; unsealed: Uint8Array } {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0);
  const payloads = Array.from({ length: count }, () => {
    const payload = new Uint8Array(next() % 300);
    for (let i = 0; i < payload.length; i++) payload[i] = next() & 0xff;
    return payload;
  });
  const total = payloads.reduce((sum, p) => sum + recordHeaderBytes + p.length, 0);
  const sealed = new Uint8Array(total);
  const unsealed = new Uint8Array(total);
  let at = 0;
  let prevLsn = 0;
  for (const [i, payload] of payloads.entries()) {
    const length = recordHeaderBytes + payload.length;
    const fields = { lsn: 4096 + at, prevLsn, type: RecordType.leafPut, flags: 0, txn: i + 1 };
    encodeRecord(sealed.subarray(at, at + length), fields, payload, true);
    encodeRecord(unsealed.subarray(at, at + length), fields, payload, false);
    prevLsn = fields.lsn;
    at += length;
  }
  return { sealed, unsealed };
}

Deno.test("WAL seal: one pass stores the CRC each record sealed alone would have", () => {
  for (const seed of [1, 2, 3]) {
    const { sealed, unsealed } = recordRun(40, seed);
    assert.notDeepEqual(unsealed, sealed, "unsealed records carry no CRC yet");
    const portable = unsealed.slice();
    assert.equal(sealRecordsPortable(portable), 40);
    assert.deepEqual(portable, sealed);
    const chosen = unsealed.slice();
    assert.equal(sealRecords(chosen), 40);
    assert.deepEqual(chosen, sealed);
  }
});

Deno.test("WAL seal: a run whose lengths do not add up is refused", () => {
  const { unsealed } = recordRun(3, 7);
  const truncated = unsealed.slice(0, unsealed.length - 1);
  assert.throws(() => sealRecordsPortable(truncated.slice()), RangeError);
  assert.throws(() => sealRecords(truncated.slice()), RangeError);
  const zeroLength = unsealed.slice();
  zeroLength.fill(0, 0, 4);
  assert.throws(() => sealRecords(zeroLength), RangeError);
});

Deno.test("WAL seal: a flush of many records is one native call, and reads back valid", () => {
  const device = new BlockDevice(new MemoryDevice("wal", 4 * 1024 * 1024), 8192);
  const start = 2 * 8192;
  const wal = new Wal(device, { insertLsn: start, lastLsn: 0, recycleLsn: start });
  const lsns: number[] = [];
  for (let i = 0; i < 50; i++) {
    lsns.push(wal.append(RecordType.leafPut, 0, i + 1, new Uint8Array(i * 7).fill(i)));
  }
  const before = crossings.snapshot().ffi_call.count;
  wal.flushSync();
  const calls = crossings.snapshot().ffi_call.count - before;
  // The memory device makes no FFI calls: what is counted is the sealing.
  assert.equal(calls, nativeSealRecords() === undefined ? 0 : 1);
  const seen: number[] = [];
  const end = new WalReader(device).scan(start, 0, (record) => {
    seen.push(record.lsn);
    assert.equal(record.payload.length, (record.txn - 1) * 7);
  });
  assert.deepEqual(seen, lsns);
  assert.equal(end.endLsn % logSectorBytes, 0);
});

Deno.test("WAL on the I/O worker: a commit's flush is one seal and one request", async () => {
  const io = await RingIo.start({ idleSpins: 1_000, waitSpins: 1_000 });
  assert.ok(io !== undefined, "FFI is available in tests");
  const dir = Deno.makeTempDirSync({ prefix: "exodb-wal-ring-" });
  try {
    const raw = io.open(`${dir}/log`, true, "direct");
    raw.allocate(4 * 1024 * 1024);
    const device = new BlockDevice(raw, 8192);
    const start = 2 * 8192;
    const wal = new Wal(device, { insertLsn: start, lastLsn: 0, recycleLsn: start });
    const lsns: number[] = [];
    for (let round = 0; round < 20; round++) {
      // Records appended while the previous flush is in flight land in the other buffer.
      const lsn = wal.append(RecordType.commit, 0, round + 1, new Uint8Array(40).fill(round));
      lsns.push(lsn);
      const before = crossings.snapshot();
      const durable = wal.flush();
      lsns.push(wal.append(RecordType.leafPut, 0, round + 1, new Uint8Array(100).fill(round)));
      await durable;
      const used = diffCrossings(crossings.snapshot(), before);
      assert.ok(wal.flushedLsn > lsn);
      if (round > 0) {
        assert.equal(used.ffi_call.count, 1, "the seal is the one FFI call");
        assert.equal(used.thread_hop.count, 1, "write and sync travel as one request");
      }
    }
    wal.flushSync();
    const seen: number[] = [];
    new WalReader(device).scan(start, 0, (record) => {
      seen.push(record.lsn);
      assert.ok(record.payload.every((b) => b === record.txn - 1));
    });
    assert.deepEqual(seen, lsns);
    raw.close();
  } finally {
    io.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
