/**
 * The backup sender measured: shipping blocks with their stored CRC32C (what EXODB_BASE_BACKUP
 * does, Cheetah's precomputed checksums) vs recomputing each block's CRC32C on the way out.
 * Both run the real shipping core (`blockFrames` in dbengine/backup/sender.ts: one batched read
 * of 64 blocks straight into a reused frame buffer, the stream digest over frame identities)
 * over the same page-cache-hot image; frames are dropped, so the figures are the sender's own
 * cost without the socket. Candidates interleave round by round; MB/s is wall clock, CPU is
 * user + system (process.cpuUsage) per GiB shipped. Used by bench/backup_bench.ts and by suite 4
 * of `exodb bench`.
 */
import process from "node:process";
import { limits } from "../lib/limits.ts";
import { Rng } from "../lib/rng.ts";
import { openFileDevice } from "../hw/disk_file.ts";
import { BlockType, sealBlock } from "../io/block.ts";
import { formatDevice } from "../io/disk_image.ts";
import { blockFrames } from "../dbengine/backup/sender.ts";
import { StreamDigest } from "../dbengine/backup/stream.ts";

/** One sender's medians. */
export interface SenderFigures {
  name: string;
  mbPerSecond: number;
  cpuMsPerGiB: number;
}

/** Both senders' medians over `rounds` interleaved rounds. */
export interface BackupSenderFigures {
  imageBlocks: number;
  blockBytes: number;
  rounds: number;
  streamBytes: number;
  stored: SenderFigures;
  recomputed: SenderFigures;
  cpuRatioRecomputedVsStored: number;
  throughputRatioStoredVsRecomputed: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Measures both senders over an image of `imageBlocks` 8 KiB blocks. */
export function measureBackupSender(imageBlocks: number, rounds: number): BackupSenderFigures {
  const blockBytes = 8192;
  const dir = Deno.makeTempDirSync({ prefix: "exodb-backup-bench-" });
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
    const source = { image, pool: { stagedCopy: () => undefined } }; // no checkpoint runs
    const batch = limits.ioBatchBlocksMax;
    const reused = new Uint8Array(batch * (9 + blockBytes)); // as backupStream reuses its buffer
    const shipAll = (recompute: boolean) => {
      const digest = new StreamDigest();
      let bytes = 0;
      for (let first = 0; first < imageBlocks; first += batch) {
        const count = Math.min(batch, imageBlocks - first);
        bytes += blockFrames(source, first, count, digest, recompute, reused).length;
      }
      return bytes;
    };
    const candidates = [
      { name: "stored CRC32C (ExoDB)", recompute: false },
      { name: "recomputed CRC32C", recompute: true },
    ];
    shipAll(false); // warm the page cache and the JIT
    shipAll(true);
    const samples = candidates.map(() => ({ mb: [] as number[], cpu: [] as number[] }));
    let streamBytes = 0;
    for (let round = 0; round < rounds; round++) {
      candidates.forEach((candidate, i) => {
        const cpu = process.cpuUsage();
        const started = performance.now();
        streamBytes = shipAll(candidate.recompute);
        const wallMs = performance.now() - started;
        const used = process.cpuUsage(cpu);
        samples[i]!.mb.push(streamBytes / 1e6 / (wallMs / 1000));
        samples[i]!.cpu.push(((used.user + used.system) / 1000) * (1024 ** 3 / streamBytes));
      });
    }
    image.close();
    const [stored, recomputed] = candidates.map((candidate, i) => ({
      name: candidate.name,
      mbPerSecond: median(samples[i]!.mb),
      cpuMsPerGiB: median(samples[i]!.cpu),
    })) as [SenderFigures, SenderFigures];
    return {
      imageBlocks,
      blockBytes,
      rounds,
      streamBytes,
      stored,
      recomputed,
      cpuRatioRecomputedVsStored: recomputed.cpuMsPerGiB / stored.cpuMsPerGiB,
      throughputRatioStoredVsRecomputed: stored.mbPerSecond / recomputed.mbPerSecond,
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
