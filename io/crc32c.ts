/**
 * CRC32C (Castagnoli), the checksum in every block header and WAL record. Chosen by measurement
 * (bench/crc32c_bench.ts): ExoDB's own SSE4.2 three-lane native code through FFI first, then
 * @node-rs/crc32 (Node-API), then a slice-by-8 table in TypeScript. All three agree on the
 * standard check value crc32c("123456789") = 0xE3069283, checked at load.
 *
 * `crc32c(bytes, seed)` composes: crc32c(b, crc32c(a)) === crc32c(a ‖ b).
 */
import { assert } from "../lib/assert.ts";
import { nativeCrc32c, nativeCrc32cIsHardware } from "../hw/native.ts";

const castagnoliReflected = 0x82f63b78;

// Eight 256-entry tables for slice-by-8: table t maps a byte to its CRC after t more zero bytes.
const sliceTables = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ castagnoliReflected : c >>> 1;
  sliceTables[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const previous = sliceTables[(t - 1) * 256 + i]!;
    sliceTables[t * 256 + i] = (previous >>> 8) ^ sliceTables[previous & 0xff]!;
  }
}

/** The portable CRC32C: slice-by-8 over little-endian words. */
export function crc32cSoftware(bytes: Uint8Array, seed = 0): number {
  const t = sliceTables;
  let crc = ~seed;
  let i = 0;
  const n = bytes.length;
  const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (; i + 8 <= n; i += 8) {
    const a = crc ^ words.getInt32(i, true);
    const b = words.getInt32(i + 4, true);
    crc = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^ t[b >>> 24]!;
  }
  for (; i < n; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

type Crc32c = (bytes: Uint8Array, seed?: number) => number;

async function loadNodeRs(): Promise<Crc32c | undefined> {
  try {
    const module = await import("@node-rs/crc32");
    const step = module.crc32c;
    return (bytes, seed = 0) => step(bytes, seed);
  } catch {
    return undefined; // No prebuilt binary for this platform, or no --allow-ffi for Node-API.
  }
}

function select(): Promise<{ name: string; fn: Crc32c }> {
  const native = nativeCrc32c();
  if (native !== undefined) {
    const kind = nativeCrc32cIsHardware() ? "sse4.2" : "table";
    return Promise.resolve({
      name: `native-${kind}`,
      fn: (bytes, seed = 0) => native(bytes, seed),
    });
  }
  return loadNodeRs().then((nodeRs) =>
    nodeRs ? { name: "node-rs", fn: nodeRs } : { name: "typescript", fn: crc32cSoftware }
  );
}

const chosen = await select();
const checkInput = new TextEncoder().encode("123456789");
assert(crc32cSoftware(checkInput) === 0xe3069283, "software CRC32C check value");
assert(chosen.fn(checkInput) === 0xe3069283, `CRC32C check value (${chosen.name})`);

/** The name of the CRC32C implementation in use, for the boot log and reports. */
export const crc32cImplementation: string = chosen.name;

/** CRC32C of `bytes`, continued from `seed` (0 for a fresh checksum). */
export const crc32c: Crc32c = chosen.fn;
