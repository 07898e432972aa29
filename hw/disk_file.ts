/**
 * Raw files as devices: the disk image and the log device. Opened once at boot and addressed only
 * by position; no path lookups after open. Two backends, chosen at open:
 *
 * - `ffi`: libc `pread`/`pwrite`/`preadv`/`pwritev`/`fdatasync` on a raw descriptor through FFI
 *   (one FFI call plus one syscall per step, a whole batch in one `preadv`/`pwritev`).
 * - `op`: Deno's runtime ops (`node:fs` positional reads and writes): one runtime op plus one
 *   syscall per step, a batch is one op per buffer. This is the conventional path.
 *
 * Every call is counted in {@link crossings}.
 */
import * as fs from "node:fs";
import { assert } from "../lib/assert.ts";
import { DeviceError } from "../lib/errors.ts";
import { limits } from "../lib/limits.ts";
import { crossings } from "./crossings.ts";
import { cString, errnoName, ffiInt, lastErrno, type Libc, loadLibc, openFlags } from "./libc.ts";
import { eachBuffer, type RawDevice } from "./raw_device.ts";

/** How a file device reaches the OS. */
export type FileBackend = "ffi" | "op";

/** Options for {@link openFileDevice}. */
export interface FileDeviceOptions {
  /** Create the file; it must not exist yet. */
  create?: boolean;
  /** Preferred backend; `ffi` falls back to `op` when FFI is unavailable. */
  backend?: FileBackend;
}

/** Opens `path` as a raw device. */
export function openFileDevice(path: string, options: FileDeviceOptions = {}): RawDevice {
  const libc = options.backend === "op" ? undefined : loadLibc();
  if (libc !== undefined) return FfiFileDevice.open(libc, path, options.create ?? false);
  return OpFileDevice.open(path, options.create ?? false);
}

/** Fsyncs a directory so a file created in it survives a crash (ALICE's missing-fsync bug). */
export function flushDirectory(path: string): void {
  const libc = loadLibc();
  if (libc !== undefined) {
    const fd = libc.open(cString(path), openFlags.readOnly | openFlags.directory, 0);
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
    if (fd < 0) throw errnoError(lastErrno(libc), `open directory ${path}`);
    const rc = libc.fsync(fd);
    crossings.add("ffi_call", 2);
    crossings.add("syscall", 2);
    const errno = rc < 0 ? lastErrno(libc) : 0;
    libc.close(fd);
    if (rc < 0) throw errnoError(errno, `fsync directory ${path}`);
    return;
  }
  const dir = Deno.openSync(path, { read: true });
  try {
    dir.syncSync();
    crossings.add("runtime_op", 2);
    crossings.add("syscall", 2);
  } finally {
    dir.close();
  }
}

/** A DeviceError for a failed libc call, named by its errno. */
export function errnoError(errno: number, what: string): DeviceError {
  const name = errnoName(errno);
  return new DeviceError(name, `Cannot ${what}: ${name}`);
}

/** Transfers stay inside the device, on an open descriptor. */
export function checkRange(
  name: string,
  fd: number,
  sizeBytes: number,
  offsetBytes: number,
  lengthBytes: number,
  what: string,
): void {
  assert(fd >= 0, `${what} on closed device ${name}`);
  if (offsetBytes < 0 || offsetBytes + lengthBytes > sizeBytes) {
    throw new DeviceError(
      "EIO",
      `Cannot ${what} ${lengthBytes} bytes at offset ${offsetBytes} of ${name}: past its end (${sizeBytes} bytes)`,
    );
  }
}

function toNumber(value: number | bigint): number {
  return typeof value === "bigint" ? Number(value) : value;
}

/** Opens `path` read-write (created exclusively when `create`); returns it and its size. */
export function openDescriptor(
  libc: Libc,
  path: string,
  create: boolean,
): { fd: number; sizeBytes: number } {
  let flags = openFlags.readWrite | openFlags.closeOnExec;
  if (create) flags |= openFlags.create | openFlags.exclusive;
  const fd = libc.open(cString(path), flags, 0o600);
  crossings.add("ffi_call", 1);
  crossings.add("syscall", 1);
  if (fd < 0) throw errnoError(lastErrno(libc), `open ${path}`);
  const sizeBytes = toNumber(libc.lseek(fd, ffiInt(0), 2 /* SEEK_END */));
  crossings.add("ffi_call", 1);
  crossings.add("syscall", 1);
  return { fd, sizeBytes };
}

/** Reserves the bytes from `fromBytes` to `toBytes` of `fd` (not sparse: ENOSPC shows now). */
export function reserveRange(
  libc: Libc,
  fd: number,
  fromBytes: number,
  toBytes: number,
  name: string,
): void {
  const rc = libc.posix_fallocate(fd, ffiInt(fromBytes), ffiInt(toBytes - fromBytes));
  crossings.add("ffi_call", 1);
  crossings.add("syscall", 1);
  // posix_fallocate returns the error number itself rather than setting errno.
  if (rc !== 0) throw errnoError(rc, `allocate ${toBytes} bytes for ${name}`);
}

/** Closes a descriptor opened by {@link openDescriptor}. */
export function closeDescriptor(libc: Libc, fd: number): void {
  libc.close(fd);
  crossings.add("ffi_call", 1);
  crossings.add("syscall", 1);
}

/** The FFI file device: libc calls on the calling thread. */
export class FfiFileDevice implements RawDevice {
  readonly name: string;
  readonly #libc: Libc;
  #fd: number;
  #sizeBytes: number;
  // One reusable iovec array: limits.ioBatchBlocksMax entries of {base, length} (16 bytes each).
  readonly #iovecs = new BigUint64Array(limits.ioBatchBlocksMax * 2);
  readonly #iovecBytes = new Uint8Array(this.#iovecs.buffer);

  static open(libc: Libc, path: string, create: boolean): FfiFileDevice {
    const { fd, sizeBytes } = openDescriptor(libc, path, create);
    return new FfiFileDevice(libc, path, fd, sizeBytes);
  }

  /** A device over a descriptor opened elsewhere (by {@link openDescriptor}); closes it. */
  static adopt(libc: Libc, path: string, fd: number, sizeBytes: number): FfiFileDevice {
    return new FfiFileDevice(libc, path, fd, sizeBytes);
  }

  private constructor(libc: Libc, path: string, fd: number, sizeBytes: number) {
    this.#libc = libc;
    this.name = path;
    this.#fd = fd;
    this.#sizeBytes = sizeBytes;
  }

  sizeBytes(): number {
    return this.#sizeBytes;
  }

  read(target: Uint8Array, offsetBytes: number): void {
    this.#checkRange(offsetBytes, target.length, "read");
    const n = toNumber(
      this.#libc.pread(this.#fd, target, ffiInt(target.length), ffiInt(offsetBytes)),
    );
    crossings.add("ffi_call", 1, n > 0 ? n : 0);
    crossings.add("syscall", 1);
    if (n !== target.length) this.#fail(n, "read", target.length, offsetBytes);
  }

  write(source: Uint8Array, offsetBytes: number): void {
    this.#checkRange(offsetBytes, source.length, "write");
    const n = toNumber(
      this.#libc.pwrite(this.#fd, source, ffiInt(source.length), ffiInt(offsetBytes)),
    );
    crossings.add("ffi_call", 1, n > 0 ? n : 0);
    crossings.add("syscall", 1);
    if (n !== source.length) this.#fail(n, "write", source.length, offsetBytes);
  }

  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void {
    this.#vectored(targets, offsetBytes, "read");
  }

  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void {
    this.#vectored(sources, offsetBytes, "write");
  }

  flush(): void {
    const rc = this.#libc.fdatasync(this.#fd);
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
    if (rc < 0) throw errnoError(lastErrno(this.#libc), `fdatasync ${this.name}`);
  }

  async flushAsync(): Promise<void> {
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
    crossings.add("thread_hop", 1);
    const rc = await this.#libc.fdatasync_nonblocking(this.#fd);
    if (rc < 0) throw new DeviceError("EIO", `Cannot fdatasync ${this.name}: failed`);
  }

  allocate(sizeBytes: number): void {
    if (sizeBytes <= this.#sizeBytes) return;
    reserveRange(this.#libc, this.#fd, this.#sizeBytes, sizeBytes, this.name);
    this.#sizeBytes = sizeBytes;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeDescriptor(this.#libc, this.#fd);
    this.#fd = -1;
  }

  #vectored(buffers: readonly Uint8Array[], offsetBytes: number, what: "read" | "write"): void {
    let done = 0;
    let offset = offsetBytes;
    while (done < buffers.length) {
      const count = Math.min(buffers.length - done, limits.ioBatchBlocksMax);
      let total = 0;
      for (let i = 0; i < count; i++) {
        const buffer = buffers[done + i]!;
        this.#iovecs[i * 2] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
        this.#iovecs[i * 2 + 1] = BigInt(buffer.length);
        total += buffer.length;
      }
      this.#checkRange(offset, total, what);
      const call = what === "read" ? this.#libc.preadv : this.#libc.pwritev;
      const n = toNumber(call(this.#fd, this.#iovecBytes, count, ffiInt(offset)));
      crossings.add("ffi_call", 1, n > 0 ? n : 0);
      crossings.add("syscall", 1);
      if (n !== total) this.#fail(n, what, total, offset);
      done += count;
      offset += total;
    }
  }

  #checkRange(offsetBytes: number, lengthBytes: number, what: string): void {
    checkRange(this.name, this.#fd, this.#sizeBytes, offsetBytes, lengthBytes, what);
  }

  #fail(n: number, what: string, lengthBytes: number, offsetBytes: number): never {
    if (n < 0) throw errnoError(lastErrno(this.#libc), `${what} ${this.name} at ${offsetBytes}`);
    throw new DeviceError(
      "EIO",
      `Short ${what} on ${this.name} at offset ${offsetBytes}: ${n} of ${lengthBytes} bytes`,
    );
  }
}

class OpFileDevice implements RawDevice {
  readonly name: string;
  #fd: number;
  #sizeBytes: number;

  static open(path: string, create: boolean): OpFileDevice {
    let fd: number;
    try {
      fd = fs.openSync(path, create ? "wx+" : "r+", 0o600);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "EIO";
      throw new DeviceError(code, `Cannot open ${path}: ${code}`, { cause: error });
    }
    const size = fs.fstatSync(fd).size;
    crossings.add("runtime_op", 2);
    crossings.add("syscall", 2);
    return new OpFileDevice(path, fd, size);
  }

  private constructor(path: string, fd: number, sizeBytes: number) {
    this.name = path;
    this.#fd = fd;
    this.#sizeBytes = sizeBytes;
  }

  sizeBytes(): number {
    return this.#sizeBytes;
  }

  read(target: Uint8Array, offsetBytes: number): void {
    this.#checkRange(offsetBytes, target.length, "read");
    const n = this.#call(
      "read",
      offsetBytes,
      () => fs.readSync(this.#fd, target, 0, target.length, offsetBytes),
    );
    crossings.add("runtime_op", 1, n);
    crossings.add("syscall", 1);
    if (n !== target.length) this.#short(n, "read", target.length, offsetBytes);
  }

  write(source: Uint8Array, offsetBytes: number): void {
    this.#checkRange(offsetBytes, source.length, "write");
    const n = this.#call(
      "write",
      offsetBytes,
      () => fs.writeSync(this.#fd, source, 0, source.length, offsetBytes),
    );
    crossings.add("runtime_op", 1, n);
    crossings.add("syscall", 1);
    if (n !== source.length) this.#short(n, "write", source.length, offsetBytes);
  }

  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void {
    eachBuffer(targets, offsetBytes, (target, offset) => this.read(target, offset));
  }

  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void {
    eachBuffer(sources, offsetBytes, (source, offset) => this.write(source, offset));
  }

  flush(): void {
    this.#call("fdatasync", 0, () => fs.fdatasyncSync(this.#fd));
    crossings.add("runtime_op", 1);
    crossings.add("syscall", 1);
  }

  flushAsync(): Promise<void> {
    crossings.add("runtime_op", 1);
    crossings.add("syscall", 1);
    crossings.add("thread_hop", 1);
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (error) => {
        if (error === null) resolve();
        else {
          const code = (error as { code?: string }).code ?? "EIO";
          reject(new DeviceError(code, `Cannot fdatasync ${this.name}: ${code}`, { cause: error }));
        }
      });
    });
  }

  allocate(sizeBytes: number): void {
    if (sizeBytes <= this.#sizeBytes) return;
    // No fallocate among the runtime ops: write zeros so the space is really reserved and a full
    // disk shows up now, as ENOSPC, rather than on a later block write.
    const chunk = new Uint8Array(1024 * 1024);
    let offset = this.#sizeBytes;
    while (offset < sizeBytes) {
      const length = Math.min(chunk.length, sizeBytes - offset);
      const at = offset;
      const n = this.#call("allocate", at, () => fs.writeSync(this.#fd, chunk, 0, length, at));
      crossings.add("runtime_op", 1, n);
      crossings.add("syscall", 1);
      if (n !== length) this.#short(n, "allocate", length, at);
      offset += length;
    }
    this.#sizeBytes = sizeBytes;
  }

  close(): void {
    if (this.#fd < 0) return;
    fs.closeSync(this.#fd);
    crossings.add("runtime_op", 1);
    crossings.add("syscall", 1);
    this.#fd = -1;
  }

  #call<T>(what: string, offsetBytes: number, step: () => T): T {
    try {
      return step();
    } catch (error) {
      const code = (error as { code?: string }).code ?? "EIO";
      throw new DeviceError(code, `Cannot ${what} ${this.name} at ${offsetBytes}: ${code}`, {
        cause: error,
      });
    }
  }

  #checkRange(offsetBytes: number, lengthBytes: number, what: string): void {
    checkRange(this.name, this.#fd, this.#sizeBytes, offsetBytes, lengthBytes, what);
  }

  #short(n: number, what: string, lengthBytes: number, offsetBytes: number): never {
    throw new DeviceError(
      "EIO",
      `Short ${what} on ${this.name} at offset ${offsetBytes}: ${n} of ${lengthBytes} bytes`,
    );
  }
}
