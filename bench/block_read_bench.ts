/**
 * Reading 8 KiB blocks from a disk image (page-cache hot, so the crossing dominates, not the
 * medium): one runtime op per block, one FFI pread per block, and one FFI preadv per run of 16
 * consecutive blocks. Each figure is per block, with the crossings per block counted.
 * Run: deno task bench:blocks   (writes bench/results/block_read.json)
 */
import { BlockDevice } from "../hw/block_device.ts";
import { crossings } from "../hw/crossings.ts";
import { openFileDevice } from "../hw/disk_file.ts";
import { Rng } from "../lib/rng.ts";
import { compare, machineLine, saveResult, table } from "./harness.ts";

const blockBytes = 8192;
const imageBlocks = 8192; // 64 MiB
const runBlocks = 16;
const dir = Deno.makeTempDirSync({ prefix: "exodb-bench-" });
try {
  const path = `${dir}/bench.img`;
  const writer = new BlockDevice(
    openFileDevice(path, { create: true, backend: "ffi" }),
    blockBytes,
  );
  writer.grow(imageBlocks);
  const chunk = new Uint8Array(blockBytes);
  const rng = new Rng(2);
  for (let b = 0; b < imageBlocks; b++) {
    rng.fill(chunk.subarray(0, 64));
    writer.write(b, chunk);
  }
  writer.flush();
  writer.close();

  const viaOp = new BlockDevice(openFileDevice(path, { backend: "op" }), blockBytes);
  const viaFfi = new BlockDevice(openFileDevice(path, { backend: "ffi" }), blockBytes);
  const frames = new SharedArrayBuffer(blockBytes * runBlocks);
  const targets = Array.from(
    { length: runBlocks },
    (_, i) => new Uint8Array(frames, i * blockBytes, blockBytes),
  );
  const one = targets[0]!;
  // A fixed pseudo-random order of blocks and of run starts, the same for every candidate.
  const order = Array.from({ length: 4096 }, () => rng.nextInt(imageBlocks));
  const runStarts = Array.from({ length: 4096 }, () => rng.nextInt(imageBlocks - runBlocks));
  const candidates = [
    { name: "runtime op, 1 block", run: (i: number) => viaOp.read(order[i & 4095]!, one) },
    { name: "FFI pread, 1 block", run: (i: number) => viaFfi.read(order[i & 4095]!, one) },
    {
      name: "runtime op, run of 16 (16 ops)",
      opsPerRun: runBlocks,
      run: (i: number) => viaOp.readRun(runStarts[i & 4095]!, targets),
    },
    {
      name: "FFI pread, run of 16 (16 calls)",
      opsPerRun: runBlocks,
      run: (i: number) => {
        const start = runStarts[i & 4095]!;
        for (let k = 0; k < runBlocks; k++) viaFfi.read(start + k, targets[k]!);
      },
    },
    {
      name: "FFI preadv, run of 16 (1 call)",
      opsPerRun: runBlocks,
      run: (i: number) => viaFfi.readRun(runStarts[i & 4095]!, targets),
    },
  ].map((c) => ({ ...c, bytesPerOp: blockBytes }));

  // Crossings per block for each candidate, counted by hw/ during one pass of 1024 operations.
  const crossingsPerBlock = candidates.map((candidate) => {
    const before = crossings.snapshot();
    for (let i = 0; i < 1024; i++) candidate.run(i);
    const after = crossings.snapshot();
    const blocks = 1024 * (candidate.opsPerRun ?? 1);
    return {
      name: candidate.name,
      runtimeOps: (after.runtime_op.count - before.runtime_op.count) / blocks,
      ffiCalls: (after.ffi_call.count - before.ffi_call.count) / blocks,
      syscalls: (after.syscall.count - before.syscall.count) / blocks,
    };
  });

  const quick = Deno.args.includes("--quick");
  const results = compare(candidates, quick ? { samples: 3, sampleMs: 10 } : {});
  console.log(`8 KiB block reads, page-cache hot, per block — ${machineLine()}\n`);
  console.log(table(results, "runtime op, 1 block"));
  console.log(
    "\n| candidate | runtime ops/block | FFI calls/block | syscalls/block |\n|---|---:|---:|---:|",
  );
  for (const c of crossingsPerBlock) {
    console.log(
      `| ${c.name} | ${c.runtimeOps.toFixed(3)} | ${c.ffiCalls.toFixed(3)} | ${
        c.syscalls.toFixed(3)
      } |`,
    );
  }
  saveResult(quick ? "block_read.quick" : "block_read", {
    machine: machineLine(),
    blockBytes,
    results,
    crossingsPerBlock,
  });
  viaOp.close();
  viaFfi.close();
} finally {
  Deno.removeSync(dir, { recursive: true });
}
