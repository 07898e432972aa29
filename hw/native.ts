/**
 * ExoDB's own native helpers (hw/native/exodb_native.c, built by `npm install` into
 * .build/libexodb_native.so) loaded through FFI. Absent when the machine had no C compiler or
 * there is no `--allow-ffi`; callers then use their portable fallback.
 */
import { crossings } from "./crossings.ts";
import { ffiInt } from "./libc.ts";

const nativeSymbols = {
  exo_crc32c: { parameters: ["u32", "buffer", "usize"], result: "u32" },
  exo_crc32c_hardware: { parameters: [], result: "i32" },
  // Optional: a library built before it existed still loads (its CRC32C is still used).
  exo_seal_records: { parameters: ["buffer", "usize"], result: "i64", optional: true },
} as const;

/** Where the native library is expected. */
export const nativeLibraryPath: string = new URL(
  "../.build/libexodb_native.so",
  import.meta.url,
).pathname;

let symbols: Deno.DynamicLibrary<typeof nativeSymbols>["symbols"] | null | undefined;

function load(): typeof symbols {
  if (symbols !== undefined) return symbols;
  symbols = null;
  if (Deno.build.os !== "linux") return symbols;
  try {
    symbols = Deno.dlopen(nativeLibraryPath, nativeSymbols).symbols;
  } catch {
    symbols = null; // Not built, or no --allow-ffi: the caller falls back.
  }
  return symbols;
}

/** The native CRC32C, or undefined where the library is not available. */
export function nativeCrc32c(): ((bytes: Uint8Array, seed: number) => number) | undefined {
  const loaded = load();
  if (!loaded) return undefined;
  const step = loaded.exo_crc32c;
  return (bytes, seed) => {
    crossings.add("ffi_call", 1, bytes.length);
    return step(seed, bytes, ffiInt(bytes.length));
  };
}

/**
 * The native record sealer (exodb_native.c, `exo_seal_records`): stores each record's CRC32C in
 * a run of WAL records with one FFI call; returns how many it sealed, or -1 on a bad length.
 * Undefined where the library (or this symbol) is not available.
 */
export function nativeSealRecords(): ((records: Uint8Array) => number) | undefined {
  const seal = load()?.exo_seal_records;
  if (!seal) return undefined;
  return (records) => {
    crossings.add("ffi_call", 1, records.length);
    return Number(seal(records, ffiInt(records.length)));
  };
}

/** True when the native CRC32C runs on the SSE4.2 instruction rather than its table fallback. */
export function nativeCrc32cIsHardware(): boolean {
  return load()?.exo_crc32c_hardware() === 1;
}
