/**
 * Backup sender: shipping blocks with their stored CRC32C (Cheetah's precomputed checksums, what
 * `EXODB_BASE_BACKUP` does) vs recomputing each block's CRC32C on the way out (a conventional
 * sender). Both run the real shipping core (`blockFrames` in dbengine/backup/sender.ts: one
 * batched read of 64 blocks straight into the frame buffer, the stream digest over frame
 * identities, one reused frame buffer) over the same page-cache-hot image file; the frames are
 * then dropped, so the
 * figures are the sender's own cost, without the socket. Candidates interleave round by round.
 * Reported: MB/s (wall clock) and sender CPU (user + system, from process.cpuUsage) per GiB.
 * Run: deno task bench:backup [--quick]   (writes bench/results/backup.json or backup_quick.json)
 */
import process from "node:process";
import { limits } from "../lib/limits.ts";
import { Rng } from "../lib/rng.ts";
import { openFileDevice } from "../hw/disk_file.ts";
import { BlockType, sealBlock } from "../io/block.ts";
import { crc32cImplementation } from "../io/crc32c.ts";
import { formatDevice } from "../io/disk_image.ts";
import { blockFrames } from "../dbengine/backup/sender.ts";
import { StreamDigest } from "../dbengine/backup/stream.ts";
import { machineLine, saveResult } from "./harness.ts";

const quick = Deno.args.includes("--quick");
const blockBytes = 8192;
const imageBlocks = quick ? 2048 : 32768; // 16 MiB or 256 MiB
const rounds = quick ? 5 : 11;
const dir = Deno.makeTempDirSync({ prefix: "exodb-backup-bench-" });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

try {
  const image = formatDevice(openFileDevice(`${dir}/exodb.img`, { create: true }), {
    role: "image",
    blockSizeBytes: blockBytes,
    initialBlocks: imageBlocks,
    extentBlocks: imageBlocks,
  });
  const block = new Uint8Array(blockBytes);
  const rng = new Rng(9);
  for (let b = limits.superblockCopiesCount; b < imageBlocks; b++) {
    rng.fill(block.subarray(32));
    sealBlock(block, { type: BlockType.test, blockNumber: b, imageTag: image.imageTag, lsn: 1 });
    image.device.write(b, block);
  }
  image.device.flush();
  const source = { image };
  const batch = limits.ioBatchBlocksMax;
  const reused = new Uint8Array(batch * (9 + blockBytes)); // as backupStream reuses its buffer
  const shipAll = (recompute: boolean) => {
    const digest = new StreamDigest();
    let bytes = 0;
    for (let first = 0; first < imageBlocks; first += batch) {
      bytes +=
        blockFrames(source, first, Math.min(batch, imageBlocks - first), digest, recompute, reused)
          .length;
    }
    return bytes;
  };
  const candidates = [
    { name: "stored CRC32C (ExoDB)", recompute: false },
    { name: "recomputed CRC32C", recompute: true },
  ];
  shipAll(false); // warm the page cache and the JIT
  shipAll(true);
  const samples = candidates.map(() => ({
    mbPerSecond: [] as number[],
    cpuMsPerGiB: [] as number[],
  }));
  let streamBytes = 0;
  for (let round = 0; round < rounds; round++) {
    candidates.forEach((candidate, i) => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      streamBytes = shipAll(candidate.recompute);
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      samples[i]!.mbPerSecond.push(streamBytes / 1e6 / (wallMs / 1000));
      samples[i]!.cpuMsPerGiB.push(cpuMs * (1024 ** 3 / streamBytes));
    });
  }
  image.close();
  const results = candidates.map((candidate, i) => ({
    name: candidate.name,
    mbPerSecond: median(samples[i]!.mbPerSecond),
    cpuMsPerGiB: median(samples[i]!.cpuMsPerGiB),
  }));
  const [stored, recomputed] = results as [typeof results[0], typeof results[0]];
  const lines = [
    `Backup sender, ${
      (streamBytes / 1048576).toFixed(0)
    } MiB stream of ${imageBlocks} blocks of 8 KiB ` +
    `(page cache hot), median of ${rounds} interleaved rounds; CRC32C: ${crc32cImplementation}`,
    "",
    "| sender | MB/s | CPU ms per GiB | CPU vs stored |",
    "|---|---:|---:|---:|",
    ...results.map((r) =>
      `| ${r.name} | ${r.mbPerSecond.toFixed(0)} | ${r.cpuMsPerGiB.toFixed(0)} | ${
        (r.cpuMsPerGiB / stored.cpuMsPerGiB).toFixed(2)
      }× |`
    ),
    "",
    `Recomputing costs ${
      (recomputed.cpuMsPerGiB / stored.cpuMsPerGiB).toFixed(2)
    }× the sender CPU ` +
    `per GiB; stored checksums ship ${
      (stored.mbPerSecond / recomputed.mbPerSecond).toFixed(2)
    }× the MB/s.`,
    machineLine(),
  ];
  console.log(lines.join("\n"));
  const path = saveResult(quick ? "backup_quick" : "backup", {
    machine: machineLine(),
    crc32c: crc32cImplementation,
    imageBlocks,
    blockBytes,
    rounds,
    streamBytes,
    results,
    cpuRatioRecomputedVsStored: recomputed.cpuMsPerGiB / stored.cpuMsPerGiB,
    throughputRatioStoredVsRecomputed: stored.mbPerSecond / recomputed.mbPerSecond,
  });
  console.log(`wrote ${path}`);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
