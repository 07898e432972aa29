/**
 * Suite 4, checksums: shipping N 8 KiB blocks over loopback TCP with the checksum stored in the
 * block header (computed once, when the block was written) against recomputing CRC32C on every
 * send; and CRC32C throughput against memcpy of the same block (as in bench/crc32c_bench.ts).
 */
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32";
import { nativeCrc32c } from "../../hw/native.ts";
import { Rng } from "../../lib/rng.ts";
import { compare, formatNs, type Measurement } from "../harness.ts";
import type { Suite } from "../runner/suite.ts";
import { markdownTable, median } from "../runner/suite.ts";
import { type BackupSenderFigures, measureBackupSender } from "../backup_sender_measure.ts";

/** Parameters of one run. */
export interface ChecksumsParams {
  blocks: number;
  rounds: number;
  samples: number;
  sampleMs: number;
}

/** The suite's figures. */
export interface ChecksumsFigures {
  blockBytes: number;
  blocks: number;
  /** GB/s per round, by candidate. */
  shipping: { stored: number[]; recompute: number[] };
  storedGbPerSecond: number;
  recomputeGbPerSecond: number;
  crc: Measurement[];
  /** The real backup sender (EXODB_BASE_BACKUP's core), stored vs recomputed checksums. */
  backup: BackupSenderFigures;
}

const blockBytes = 8192;

/** A sink on loopback that reads and counts bytes until told how many to expect. */
function sink(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(256 * 1024);
        try {
          while ((await conn.read(buffer)) !== null) { /* discard */ }
        } catch { /* closed */ }
        conn.close();
      })();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Suite 4. */
export const checksumsSuite: Suite<ChecksumsParams, ChecksumsFigures> = {
  name: "checksums",
  title: "Checksums: stored vs recomputed, CRC32C vs memcpy",
  quick: { blocks: 2048, rounds: 3, samples: 3, sampleMs: 10 },
  full: { blocks: 32768, rounds: 9, samples: 15, sampleMs: 40 },
  steps: (p) => p.rounds + 1,
  async run(params, context) {
    const crc = nativeCrc32c() ?? ((bytes: Uint8Array) => nodeRsCrc32c(bytes));
    const frames = 1024; // 8 MiB of distinct blocks, cycled: more than the caches hold
    const source = new Uint8Array(blockBytes * frames);
    new Rng(4).fill(source);
    const view = new DataView(source.buffer);
    // Store each block's checksum in its first 4 bytes, over the rest, as the block format does.
    for (let b = 0; b < frames; b++) {
      const block = source.subarray(b * blockBytes, (b + 1) * blockBytes);
      view.setUint32(b * blockBytes, crc(block.subarray(4), 0), true);
    }
    const server = sink();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const stored: number[] = [];
    const recompute: number[] = [];
    const ship = async (recomputeChecksum: boolean) => {
      const started = performance.now();
      for (let i = 0; i < params.blocks; i++) {
        const b = i % frames;
        const block = source.subarray(b * blockBytes, (b + 1) * blockBytes);
        if (recomputeChecksum) view.setUint32(b * blockBytes, crc(block.subarray(4), 0), true);
        await writeAll(conn, block);
      }
      return (params.blocks * blockBytes) / ((performance.now() - started) * 1e6);
    };
    await ship(false); // warm-up: JIT, socket buffers
    for (let round = 0; round < params.rounds; round++) {
      // Alternate which goes first in a round.
      if (round % 2 === 0) {
        stored.push(await ship(false));
        recompute.push(await ship(true));
      } else {
        recompute.push(await ship(true));
        stored.push(await ship(false));
      }
      context.progress.step(`shipping round ${round + 1}/${params.rounds}`);
    }
    conn.close();
    server.close();

    const target = new Uint8Array(blockBytes * frames);
    const frame = (i: number) =>
      source.subarray((i % frames) * blockBytes, (i % frames + 1) * blockBytes);
    const native = nativeCrc32c();
    const crcResults = compare(
      [
        {
          name: "memcpy (TypedArray.set)",
          run: (i: number) => target.set(frame(i), (i % frames) * blockBytes),
        },
        ...(native
          ? [{ name: "CRC32C native sse4.2 (FFI)", run: (i: number) => native(frame(i), 0) }]
          : []),
        { name: "CRC32C @node-rs/crc32", run: (i: number) => nodeRsCrc32c(frame(i)) },
      ].map((c) => ({ ...c, bytesPerOp: blockBytes })),
      params,
    );
    context.progress.step("CRC32C vs memcpy");

    const figures: ChecksumsFigures = {
      blockBytes,
      blocks: params.blocks,
      shipping: { stored, recompute },
      storedGbPerSecond: median(stored),
      recomputeGbPerSecond: median(recompute),
      crc: crcResults,
      backup: measureBackupSender(params.blocks, params.rounds),
    };
    const backup = figures.backup;
    const ratio = figures.storedGbPerSecond / figures.recomputeGbPerSecond;
    const memcpy = crcResults[0]!;
    const markdown = [
      `${params.blocks} blocks of ${blockBytes} bytes written to a loopback TCP socket (one write per`,
      "block, a reader in the same process discarding them), median of",
      `${params.rounds} alternating rounds.`,
      "",
      markdownTable(["shipping", "GB/s (median)", "rounds"], [
        [
          "stored checksum (as written)",
          figures.storedGbPerSecond.toFixed(2),
          stored.map((v) => v.toFixed(2)).join(", "),
        ],
        [
          "recompute CRC32C per send",
          figures.recomputeGbPerSecond.toFixed(2),
          recompute.map((v) => v.toFixed(2)).join(", "),
        ],
      ]),
      "",
      `Stored / recomputed: ${ratio.toFixed(2)}×.`,
      "",
      markdownTable(
        ["candidate", "median per 8 KiB", "±95%", "GB/s", "vs memcpy"],
        crcResults.map((m) => [
          m.name,
          formatNs(m.medianNs),
          formatNs(m.ci95Ns),
          (m.gbPerSecond ?? NaN).toFixed(2),
          (memcpy.medianNs / m.medianNs).toFixed(2) + "×",
        ]),
      ),
      "",
      `The backup sender itself (EXODB_BASE_BACKUP's core, ${backup.imageBlocks} blocks, page cache`,
      `hot, median of ${backup.rounds} interleaved rounds): recomputing costs`,
      `${backup.cpuRatioRecomputedVsStored.toFixed(2)}× the sender CPU per GiB.`,
      "",
      markdownTable(["backup sender", "MB/s", "CPU ms per GiB"], [
        [
          backup.stored.name,
          backup.stored.mbPerSecond.toFixed(0),
          backup.stored.cpuMsPerGiB.toFixed(0),
        ],
        [
          backup.recomputed.name,
          backup.recomputed.mbPerSecond.toFixed(0),
          backup.recomputed.cpuMsPerGiB.toFixed(0),
        ],
      ]),
      "",
      "![checksum throughput](checksums.svg)",
    ].join("\n");
    return {
      figures,
      markdown,
      charts: [{
        kind: "bar",
        file: "checksums.svg",
        title: "Throughput on 8 KiB blocks",
        unit: "GB/s",
        bars: [
          { label: "ship, stored checksum", value: figures.storedGbPerSecond },
          { label: "ship, recompute per send", value: figures.recomputeGbPerSecond },
          ...crcResults.map((m) => ({ label: m.name, value: m.gbPerSecond ?? NaN })),
        ],
      }],
      summary: [
        {
          metric: "checksums: shipping with stored / recomputed CRC32C",
          value: `${figures.storedGbPerSecond.toFixed(2)} vs ${
            figures.recomputeGbPerSecond.toFixed(2)
          } GB/s`,
          ratio,
        },
        {
          metric: "checksums: backup sender CPU per GiB, recomputed / stored CRC32C",
          value: `${backup.recomputed.cpuMsPerGiB.toFixed(0)} vs ${
            backup.stored.cpuMsPerGiB.toFixed(0)
          } ms/GiB`,
          ratio: backup.cpuRatioRecomputedVsStored,
        },
        ...(crcResults[1] === undefined ? [] : [{
          metric: `checksums: ${crcResults[1].name} / memcpy`,
          value: `${(crcResults[1].gbPerSecond ?? NaN).toFixed(2)} vs ${
            (memcpy.gbPerSecond ?? NaN).toFixed(2)
          } GB/s`,
          ratio: memcpy.medianNs / crcResults[1].medianNs,
        }]),
      ],
    };
  },
};
