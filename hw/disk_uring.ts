/**
 * The log device's group-commit flush on io_uring: `writeAndFlushAsync` becomes two linked SQEs
 * (a write, then an fdatasync that starts only once the write succeeded) on the ring the NIC
 * already enters every kernel turn (uring.ts). The kernel thread pays one `io_uring_enter` for
 * the pair, the OS's own workers run the sync, and the completion is reaped with the NIC's at the
 * next tick: no wake-up of the I/O worker, no futex, no thread hop back. Everything else (block
 * reads and writes, the blocking `flush`) goes to the wrapped device unchanged.
 *
 * Invariants:
 * 1. A request's source buffer stays referenced (in `#pending`) until both its CQEs are reaped.
 * 2. `flush()` and `close()` first wait for every request in flight on the ring, so "durable
 *    after flush" also covers a write the ring has not finished yet (dbengine/wal rule 3).
 * 3. A short write breaks the link (the sync is cancelled): the rest is written and synced
 *    through the wrapped device before the request settles. Any other failure rejects with the
 *    errno as a DeviceError, and the caller treats the log's durable state as unknown.
 * 4. Requests are told apart by id in the user data (uring.ts invariant 4): `uringDiskTag`,
 *    the request id (below 2^29) shifted by one, and the low bit 0 for the write, 1 for the sync.
 * 5. No flush waits unseen: while one is in flight the ring's idle wait is armed, or the device
 *    looks at the ring in the next event-loop turn (the scheduler does not announce every idle
 *    moment, and an idle kernel thread sleeps in the event loop, not on the ring).
 */
import { DeviceError } from "../lib/errors.ts";
import { crossings } from "./crossings.ts";
import { closeDescriptor, errnoError, openDescriptor } from "./disk_file.ts";
import { bufferAddress, type Libc, loadLibc } from "./libc.ts";
import type { RawDevice } from "./raw_device.ts";
import { type Uring, uringDiskTag, uringFsyncDatasync, UringOp, uringSqeLink } from "./uring.ts";

/** io_uring's result for the linked sync after its write failed or was short. */
const errnoCanceled = 125;
const requestIdLimit = 1 << 29;

/** One write → sync pair in flight. */
interface PendingFlush {
  source: Uint8Array;
  offsetBytes: number;
  /** Bytes the write moved, once its CQE is in (undefined before). */
  written: number | undefined;
  /** The write's or the sync's errno, if either failed (a cancelled sync after a short write is not). */
  errno: number | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Counters for exodb_stat_io and benchmarks. */
export interface UringFlushStats {
  /** Write → sync pairs submitted. */
  flushes: number;
  /** Pairs whose write was short and finished through the wrapped device. */
  shortWrites: number;
  /** Blocking waits for the ring (a synchronous flush or close with pairs in flight). */
  blockingWaits: number;
}

/** A raw device whose asynchronous write-and-sync runs on a shared io_uring. */
export class UringFlushDevice implements RawDevice {
  readonly name: string;
  readonly #inner: RawDevice;
  readonly #ring: Uring;
  readonly #libc: Libc;
  #fd: number;
  #nextId = 0;
  readonly #pending = new Map<number, PendingFlush>();
  /**
   * The kernel's scheduler, when it drives the ring: while it is busy, its ticks reap (the
   * device looks again once per event-loop turn); once it is not, the device arms the ring's
   * idle wait. Without a host the wait is armed at once.
   */
  host: { busy(): boolean } | undefined;
  readonly stats: UringFlushStats = { flushes: 0, shortWrites: 0, blockingWaits: 0 };
  #waitArmed = false;
  #watching = false;

  private constructor(inner: RawDevice, ring: Uring, libc: Libc, fd: number) {
    this.name = inner.name;
    this.#inner = inner;
    this.#ring = ring;
    this.#libc = libc;
    this.#fd = fd;
    ring.handlers.disk = this.#complete;
  }

  /**
   * Wraps `inner` (the device of the file at `path`) so its write-and-sync uses `ring`, which it
   * retains until closed. `inner` itself when FFI is unavailable. The file is opened a second
   * time for the ring: an fdatasync through either descriptor covers the file's data.
   */
  static wrap(inner: RawDevice, path: string, ring: Uring): RawDevice {
    const libc = loadLibc();
    if (libc === undefined || ring.closed) return inner;
    const { fd } = openDescriptor(libc, path, false);
    return new UringFlushDevice(inner, ring.retain(), libc, fd);
  }

  /** Pairs submitted and not yet settled. */
  get inFlight(): number {
    return this.#pending.size;
  }

  sizeBytes(): number {
    return this.#inner.sizeBytes();
  }
  read(target: Uint8Array, offsetBytes: number): void {
    this.#inner.read(target, offsetBytes);
  }
  write(source: Uint8Array, offsetBytes: number): void {
    this.#inner.write(source, offsetBytes);
  }
  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void {
    this.#inner.readBatch(targets, offsetBytes);
  }
  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void {
    this.#inner.writeBatch(sources, offsetBytes);
  }
  allocate(sizeBytes: number): void {
    this.#inner.allocate(sizeBytes);
  }

  /** Invariant 2: what the ring has in flight lands first, then the wrapped device syncs. */
  flush(): void {
    this.#drain();
    this.#inner.flush();
  }

  flushAsync(): Promise<void> {
    return this.#inner.flushAsync();
  }

  writeAndFlushAsync(source: Uint8Array, offsetBytes: number): Promise<void> {
    if (this.#fd < 0) return Promise.reject(new DeviceError("EBADF", `${this.name} is closed`));
    if (this.#ring.closed) return this.#inner.writeAndFlushAsync!(source, offsetBytes);
    if (this.#ring.freeSlots() < 2) this.#ring.submit(); // the NIC's corked SQEs go now
    if (this.#ring.freeSlots() < 2) {
      // Every slot holds an unconsumed SQE (the OS's head lags): the worker path is still right.
      return this.#inner.writeAndFlushAsync!(source, offsetBytes);
    }
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) % requestIdLimit;
    const userData = uringDiskTag | (id << 1);
    const address = bufferAddress(source);
    this.#ring.push(
      UringOp.write,
      this.#fd,
      address,
      source.length,
      0,
      userData,
      0,
      offsetBytes,
      uringSqeLink,
    );
    this.#ring.push(UringOp.fsync, this.#fd, 0, 0, uringFsyncDatasync, userData | 1);
    // One enter for the pair (and whatever the NIC had corked): the commit does not wait a tick.
    this.#ring.submit();
    this.stats.flushes++;
    crossings.add("syscall", 0, source.length); // the bytes ride on the enter counted above
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, {
        source,
        offsetBytes,
        written: undefined,
        errno: undefined,
        resolve,
        reject,
      });
      this.#watch();
    });
  }

  /**
   * Invariant 5: while pairs are in flight, either the ring's idle wait is armed or a look is
   * due in the next event-loop turn. (A busy host reaps at its ticks; a wait armed while it is
   * busy would end at every NIC completion and be armed again, a thread hop each time.)
   */
  #watch(): void {
    if (this.#pending.size === 0 || this.#ring.closed) return;
    if (this.host === undefined || !this.host.busy()) {
      this.#armWait();
      return;
    }
    if (this.#watching) return;
    this.#watching = true;
    setImmediate(this.#look);
  }

  readonly #look = (): void => {
    this.#watching = false;
    this.#ring.reap(); // plain loads: settles what is done
    this.#watch();
  };

  #armWait(): void {
    if (this.#waitArmed || this.#ring.closed) return;
    this.#waitArmed = true;
    void this.#ring.waitIdle().then(() => {
      this.#waitArmed = false;
      this.#ring.reap();
      this.#watch();
    });
  }

  readonly #complete = (userData: number, result: number): void => {
    const id = (userData & ~uringDiskTag) >>> 1;
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    if ((userData & 1) === 0) {
      if (result < 0) pending.errno = -result;
      else pending.written = result;
      return;
    }
    this.#pending.delete(id);
    const written = pending.written ?? 0;
    if (pending.errno === undefined && result === -errnoCanceled) {
      if (written < pending.source.length) {
        this.#finishShort(pending, written); // invariant 3
        return;
      }
    }
    if (pending.errno === undefined && result < 0) pending.errno = -result;
    if (pending.errno !== undefined) {
      const what =
        `write and sync ${pending.source.length} bytes of ${this.name} at ${pending.offsetBytes}`;
      pending.reject(errnoError(pending.errno, what));
    } else pending.resolve();
  };

  #finishShort(pending: PendingFlush, written: number): void {
    this.stats.shortWrites++;
    try {
      this.#inner.write(pending.source.subarray(written), pending.offsetBytes + written);
      this.#inner.flush();
      pending.resolve();
    } catch (error) {
      pending.reject(error);
    }
  }

  /** Invariant 2: waits on this thread until every pair in flight has settled. */
  #drain(): void {
    while (this.#pending.size > 0 && !this.#ring.closed) {
      this.stats.blockingWaits++;
      this.#ring.submit();
      this.#ring.waitBlocking();
      this.#ring.reap();
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    this.#drain();
    for (const pending of this.#pending.values()) {
      pending.reject(new DeviceError("EIO", `${this.name} closed with a flush in flight`));
    }
    this.#pending.clear();
    if (this.#ring.handlers.disk === this.#complete) delete this.#ring.handlers.disk;
    closeDescriptor(this.#libc, this.#fd);
    this.#fd = -1;
    this.#ring.close();
    this.#inner.close();
  }
}
