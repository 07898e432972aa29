/**
 * libc through Deno's FFI: positional and vectored I/O, fdatasync and fallocate on a raw file
 * descriptor, for the block-device fast path. One FFI call per step plus the syscall behind it;
 * both are counted by the callers in `hw/`.
 *
 * Loaded lazily and only on Linux; {@link loadLibc} returns undefined where it cannot be loaded
 * (another OS, or no `--allow-ffi`), and the runtime-op path is used instead.
 */

import { crossings } from "./crossings.ts";

const libcPathCandidates = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib64/libc.so.6",
];

const libcSymbols = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  preadv: { parameters: ["i32", "buffer", "i32", "i64"], result: "isize" },
  pwritev: { parameters: ["i32", "buffer", "i32", "i64"], result: "isize" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  // The same call on Deno's blocking-call thread pool; errno is then another thread's, so a
  // failure can only be reported as EIO.
  fdatasync_nonblocking: {
    name: "fdatasync",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
  },
  fsync: { parameters: ["i32"], result: "i32" },
  posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The loaded libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

/**
 * The same transfers taking raw addresses instead of buffers: the I/O worker reads and writes
 * memory it did not allocate (buffer-pool frames and log buffers of the kernel's isolate, in
 * the one address space) through addresses the kernel put in the ring entry.
 */
const libcAddressSymbols = {
  pread: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  preadv: { parameters: ["i32", "pointer", "i32", "i64"], result: "isize" },
  pwritev: { parameters: ["i32", "pointer", "i32", "i64"], result: "isize" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The loaded address-taking libc symbols. */
export type LibcAddress = Deno.DynamicLibrary<typeof libcAddressSymbols>["symbols"];

/** Opens the address-taking libc symbols (for the I/O worker); undefined without FFI. */
export function loadLibcAddress(path = libcPath()): LibcAddress | undefined {
  if (path === undefined) return undefined;
  try {
    return Deno.dlopen(path, libcAddressSymbols).symbols;
  } catch {
    return undefined;
  }
}

/** open(2) flags; the values differ between architectures. */
export const openFlags = {
  readOnly: 0,
  readWrite: 2,
  create: 0o100,
  exclusive: 0o200,
  directory: Deno.build.arch === "aarch64" ? 0o40000 : 0o200000,
  closeOnExec: 0o2000000,
} as const;

/** errno values ExoDB maps to names (Linux). */
const errnoNames: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  17: "EEXIST",
  21: "EISDIR",
  22: "EINVAL",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  122: "EDQUOT",
};

/** The name of an errno value, such as `EIO`. */
export function errnoName(errno: number): string {
  return errnoNames[errno] ?? `errno ${errno}`;
}

let loaded: { path: string; symbols: Libc } | null | undefined;

/** The path of the libc that {@link loadLibc} opens, or undefined off Linux. */
export function libcPath(): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  for (const path of libcPathCandidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not this candidate (or no read permission for it): try the next one.
    }
  }
  return undefined;
}

/** Opens libc once; undefined when FFI is unavailable here. */
export function loadLibc(path = libcPath()): Libc | undefined {
  if (loaded !== undefined) return loaded?.symbols;
  loaded = null;
  if (path === undefined) return undefined;
  try {
    loaded = { path, symbols: Deno.dlopen(path, libcSymbols).symbols };
  } catch {
    loaded = null; // No --allow-ffi, or not a loadable libc: the caller falls back.
  }
  return loaded?.symbols;
}

/**
 * libc opened with another symbol set (io_uring's syscalls, the NIC's socket calls), once per
 * set; undefined off Linux or without `--allow-ffi`.
 */
export function libcWith<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | undefined {
  const cached = extraLibraries.get(symbols);
  if (cached !== undefined) return cached ?? undefined;
  let opened: Deno.DynamicLibrary<S>["symbols"] | null = null;
  const path = libcPath();
  if (path !== undefined) {
    try {
      opened = Deno.dlopen(path, symbols).symbols;
    } catch {
      opened = null; // No --allow-ffi: the caller falls back.
    }
  }
  extraLibraries.set(symbols, opened);
  return opened ?? undefined;
}

// deno-lint-ignore no-explicit-any
const extraLibraries = new Map<Deno.ForeignLibraryInterface, any>();

/** The calling thread's errno after a failed libc call. */
export function lastErrno(libc: Pick<Libc, "__errno_location">): number {
  const pointer = libc.__errno_location();
  if (pointer === null) return 0;
  return new Deno.UnsafePointerView(pointer).getInt32(0);
}

/**
 * A 64-bit FFI argument passed as a plain number. Deno accepts numbers for i64/usize parameters
 * at run time (and avoids a BigInt allocation per call on the fast path); its types only admit
 * bigint, so this one cast is the bridge. `value` must be a safe integer.
 */
export function ffiInt(value: number): bigint {
  return value as unknown as bigint;
}

/** Base addresses of ArrayBuffers handed to the OS by address, taken once each. */
const bufferBases = new WeakMap<ArrayBufferLike, number>();

/**
 * The address of `view`'s first byte, as a number (user-space addresses fit in 53 bits). The
 * base of each ArrayBuffer is taken once (one runtime op, counted) and cached: the buffers
 * given to the OS by address (pool frames, log buffers, socket buffers) are long-lived.
 * Callers keep the buffer referenced while the OS may use the address.
 */
export function bufferAddress(view: Uint8Array): number {
  let base = bufferBases.get(view.buffer);
  if (base === undefined) {
    const whole = new Uint8Array(view.buffer, 0, view.buffer.byteLength);
    base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(whole)));
    crossings.add("runtime_op", 1);
    bufferBases.set(view.buffer, base);
  }
  return base + view.byteOffset;
}

/** A NUL-terminated UTF-8 copy of `text`, for path arguments. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const encoded = new TextEncoder().encode(text);
  const out = new Uint8Array(encoded.length + 1);
  out.set(encoded);
  return out;
}
