/**
 * Backup sender benchmark: stored vs recomputed CRC32C (bench/backup_sender_measure.ts says
 * what is measured and how). Run: deno task bench:backup [--quick]
 * (writes bench/results/backup.json, or backup_quick.json).
 */
import { crc32cImplementation } from "../io/crc32c.ts";
import { measureBackupSender } from "./backup_sender_measure.ts";
import { machineLine, saveResult } from "./harness.ts";

const quick = Deno.args.includes("--quick");
const imageBlocks = quick ? 2048 : 32768; // 16 MiB or 256 MiB
const rounds = quick ? 5 : 11;

const figures = measureBackupSender(imageBlocks, rounds);
const { stored } = figures;
const lines = [
  `Backup sender, ${(figures.streamBytes / 1048576).toFixed(0)} MiB stream of ${imageBlocks} ` +
  `blocks of 8 KiB (page cache hot), median of ${rounds} interleaved rounds; CRC32C: ${crc32cImplementation}`,
  "",
  "| sender | MB/s | CPU ms per GiB | CPU vs stored |",
  "|---|---:|---:|---:|",
  ...[figures.stored, figures.recomputed].map((r) =>
    `| ${r.name} | ${r.mbPerSecond.toFixed(0)} | ${r.cpuMsPerGiB.toFixed(0)} | ${
      (r.cpuMsPerGiB / stored.cpuMsPerGiB).toFixed(2)
    }× |`
  ),
  "",
  `Recomputing costs ${figures.cpuRatioRecomputedVsStored.toFixed(2)}× the sender CPU per GiB; ` +
  `stored checksums ship ${figures.throughputRatioStoredVsRecomputed.toFixed(2)}× the MB/s.`,
  machineLine(),
];
console.log(lines.join("\n"));
const path = saveResult(quick ? "backup_quick" : "backup", {
  machine: machineLine(),
  crc32c: crc32cImplementation,
  ...figures,
  results: [figures.stored, figures.recomputed],
});
console.log(`wrote ${path}`);
