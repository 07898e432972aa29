/**
 * The raw device seam: a file-like store of bytes addressed by position. Disk images, the log
 * device, the memory device and the fault-injecting wrapper all implement it; nothing above `hw/`
 * touches `Deno.*` file APIs. Upper layers use it through {@link BlockDevice} (block numbers only).
 *
 * Invariants for every implementation:
 * 1. `read`/`write` move exactly `buffer.length` bytes or throw a DeviceError; never a short count.
 * 2. A write is durable only after `flush()` returns; before that a crash may keep, drop or garble it.
 * 3. After a failed `flush()` the device's durable state is unknown: callers must not retry and
 *    trust it (fsyncgate), they stop writing and recover.
 */

/** A positional byte device. Offsets and lengths are in bytes. */
export interface RawDevice {
  /** A name for error messages: the file path, or `memory:<label>`. */
  readonly name: string;
  /** The device's current size in bytes. */
  sizeBytes(): number;
  /** Reads `target.length` bytes at `offsetBytes`. */
  read(target: Uint8Array, offsetBytes: number): void;
  /** Writes `source` at `offsetBytes`, inside the current size. */
  write(source: Uint8Array, offsetBytes: number): void;
  /** Reads consecutive buffers starting at `offsetBytes` in one call where the device can. */
  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void;
  /** Writes consecutive buffers starting at `offsetBytes` in one call where the device can. */
  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void;
  /** Makes every completed write durable (fdatasync), blocking the calling thread. */
  flush(): void;
  /**
   * Makes every write completed before the call durable, off the calling thread: the kernel
   * thread keeps running sessions while the disk syncs (the basis of group commit).
   */
  flushAsync(): Promise<void>;
  /**
   * Optional: writes `source` at `offsetBytes` and then makes it and every earlier write durable,
   * both off the calling thread, as one request (io_uring's linked write → fsync). `source` must
   * stay unchanged until the promise settles. Devices without it get `write` + `flushAsync`.
   */
  writeAndFlushAsync?(source: Uint8Array, offsetBytes: number): Promise<void>;
  /**
   * Optional: reads `target.length` bytes at `offsetBytes` off the calling thread (the I/O
   * worker); `target` must not be touched until the promise settles. A read racing a write to
   * the same bytes may see part of each: callers confirm what such a read finds.
   */
  readAsync?(target: Uint8Array, offsetBytes: number): Promise<void>;
  /**
   * Optional, with `writeQueued`: writes `source` at `offsetBytes` off the calling thread (the
   * I/O worker), after every asynchronous request submitted before it; `source` must stay
   * unchanged until the promise settles. A read or write on the calling thread may race it.
   */
  writeAsync?(source: Uint8Array, offsetBytes: number): Promise<void>;
  /**
   * Optional, with `writeAsync`: writes `source` at `offsetBytes` and returns when it is done,
   * ordered after every asynchronous request submitted before it (so it lands after an
   * earlier `writeAsync` of the same bytes, which a plain `write` on the calling thread may not).
   */
  writeQueued?(source: Uint8Array, offsetBytes: number): void;
  /** Grows the device to `sizeBytes`, with the space reserved (not sparse) where possible. */
  allocate(sizeBytes: number): void;
  /** Releases the device; any later call is a bug. */
  close(): void;
}

/** One call per buffer, at consecutive offsets: the batch path of devices without a vectored call. */
export function eachBuffer(
  buffers: readonly Uint8Array[],
  offsetBytes: number,
  transfer: (buffer: Uint8Array, offsetBytes: number) => void,
): void {
  let offset = offsetBytes;
  for (const buffer of buffers) {
    transfer(buffer, offset);
    offset += buffer.length;
  }
}
