/**
 * CRC32C candidates on 8 KiB blocks (the block size) against memcpy of the same block.
 * Run: deno task bench:crc32c   (writes bench/results/crc32c.json)
 */
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32";
import { createCRC32 } from "hash-wasm";
import CRC32C from "crc-32/crc32c";
import { nativeCrc32c } from "../hw/native.ts";
import { crc32cSoftware } from "../io/crc32c.ts";
import { Rng } from "../lib/rng.ts";
import { compare, machineLine, saveResult, table } from "./harness.ts";

const blockBytes = 8192;
const framesCount = 1024; // 8 MiB of frames: cycles through more than L2 like a real pool
const frames = new Uint8Array(new SharedArrayBuffer(blockBytes * framesCount));
new Rng(1).fill(frames);
const target = new Uint8Array(blockBytes * framesCount);
const frame = (i: number) =>
  frames.subarray((i % framesCount) * blockBytes, (i % framesCount + 1) * blockBytes);

const wasm = await createCRC32(0x82f63b78);
const native = nativeCrc32c();
const candidates = [
  {
    name: "memcpy (TypedArray.set)",
    run: (i: number) => target.set(frame(i), (i % framesCount) * blockBytes),
  },
  ...(native
    ? [{ name: "exodb native sse4.2 (FFI)", run: (i: number) => native(frame(i), 0) }]
    : []),
  { name: "@node-rs/crc32 (Node-API)", run: (i: number) => nodeRsCrc32c(frame(i)) },
  {
    name: "hash-wasm (WASM)",
    run: (i: number) => {
      wasm.init();
      wasm.update(frame(i));
      return wasm.digest("binary");
    },
  },
  { name: "crc-32 (JS)", run: (i: number) => CRC32C.buf(frame(i)) },
  { name: "exodb slice-by-8 (TS)", run: (i: number) => crc32cSoftware(frame(i)) },
].map((c) => ({ ...c, bytesPerOp: blockBytes }));

const quick = Deno.args.includes("--quick");
const results = compare(candidates, quick ? { samples: 3, sampleMs: 10 } : {});
const report = table(results, "memcpy (TypedArray.set)");
console.log(`CRC32C on ${blockBytes}-byte blocks — ${machineLine()}\n\n${report}`);
saveResult(quick ? "crc32c.quick" : "crc32c", { machine: machineLine(), blockBytes, results });
