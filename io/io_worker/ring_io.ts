/**
 * The kernel's side of the I/O worker: a submission/completion ring pair to a Worker isolate
 * that runs positional file I/O (worker_main.ts), and {@link RingFileDevice}, a RawDevice whose
 * every transfer and sync goes through it. On the exo profile the disk image and the log device
 * are RingFileDevices, so the kernel thread makes no runtime op and no FFI call for disk I/O:
 * it stores submission entries, loads completions, and makes a futex call only to wake a
 * sleeping worker or to sleep itself when the worker is slower than a short spin.
 *
 * Synchronous calls (reads, writes: the engine's block layer is synchronous) submit and wait for
 * their own completion; `flushAsync` submits and returns a promise that a completion settles.
 * Completions are drained by whichever comes first: a synchronous wait, {@link RingIo.poll}
 * (called at every scheduler tick), or an asynchronous waiter armed while syncs are in flight.
 *
 * Invariants:
 * 1. Every submission is settled exactly once, by its own completion (protocol.ts rule 2).
 * 2. Memory handed to the worker stays referenced by the pending entry until its completion.
 * 3. The kernel never blocks on a full submission ring without first draining completions,
 *    so the worker (which may wait for completion space) and the kernel cannot deadlock.
 * 4. Addresses are taken once per ArrayBuffer (one runtime op, cached); a transfer then costs
 *    no op at all.
 */
import { assert } from "../../lib/assert.ts";
import { DeviceError } from "../../lib/errors.ts";
import { limits } from "../../lib/limits.ts";
import { crossings } from "../../hw/crossings.ts";
import { bufferAddress, errnoName, type Libc, libcPath, loadLibc } from "../../hw/libc.ts";
import {
  checkRange,
  closeDescriptor,
  errnoError,
  FfiFileDevice,
  openDescriptor,
  reserveRange,
} from "../../hw/disk_file.ts";
import type { RawDevice } from "../../hw/raw_device.ts";
import { createRing, RingConsumer, RingProducer } from "../ring/spsc_ring.ts";
import {
  cErrno,
  cId,
  completionShape,
  cResultF,
  IoOp,
  sAddressF,
  sCount,
  sFd,
  sId,
  sLengthF,
  sOffsetF,
  sOp,
  submissionShape,
  type WorkerInit,
  type WorkerStat,
  workerStatsBytes,
  workerStatSlots,
} from "./protocol.ts";

/**
 * The worker's module graph: loading a Worker needs read access to every file of it, so the
 * launcher grants exactly these (tests/io/ring_io_test.ts checks the list against `deno info`).
 */
export const ioWorkerModulePaths: readonly string[] = [
  "./worker_main.ts",
  "./protocol.ts",
  "../ring/spsc_ring.ts",
  "../../hw/libc.ts",
  "../../hw/crossings.ts",
  "../../lib/assert.ts",
].map((relative) => new URL(relative, import.meta.url).pathname);

/** Options for {@link RingIo.start}. */
export interface RingIoOptions {
  /** Empty polls of the submission ring before the worker sleeps; default 20,000 (~50 µs). */
  idleSpins?: number;
  /** Polls of the completion ring before a synchronous wait sleeps; default 4,000. */
  waitSpins?: number;
}

/** A completion not yet matched to its submission. */
interface Pending {
  /** Memory the worker uses: kept referenced until the completion (rule 2). */
  keep: unknown;
  settle: ((result: number, errno: number) => void) | undefined;
  result: number;
  errno: number;
  done: boolean;
}

/** Figures of the ring pair and the worker, for exodb_stat_io. */
export interface RingIoStats {
  submitted: number;
  completed: number;
  inFlight: number;
  syncWaits: number;
  /** Futex sleeps of the kernel thread waiting for completions. */
  syncSleeps: number;
  /** Futex wakes the kernel thread sent to a sleeping worker. */
  wakesSent: number;
  worker: Record<WorkerStat, number>;
}

/** The ring pair to one I/O worker and its pending requests. */
export class RingIo {
  readonly #worker: Worker;
  readonly #submissions: RingProducer;
  readonly #completions: RingConsumer;
  readonly #stats: Float64Array;
  readonly #libc: Libc;
  readonly #waitSpins: number;
  /** The iovec array of vectored calls: ioBatchBlocksMax × {base, length}. */
  readonly #iovecs: BigUint64Array;
  readonly #iovecsAddress: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** The last write generation handed out (protocol rule 1a), across every device of the ring. */
  #writeGeneration = 0;
  #asyncInFlight = 0;
  #asyncWaiterArmed = false;
  #submitted = 0;
  #completed = 0;
  #syncWaits = 0;
  #closed = false;

  private constructor(
    worker: Worker,
    submissions: SharedArrayBuffer,
    completions: SharedArrayBuffer,
    stats: SharedArrayBuffer,
    libc: Libc,
    waitSpins: number,
  ) {
    this.#worker = worker;
    this.#submissions = new RingProducer(submissions);
    this.#completions = new RingConsumer(completions);
    this.#stats = new Float64Array(stats);
    this.#libc = libc;
    this.#waitSpins = waitSpins;
    this.#iovecs = new BigUint64Array(
      new SharedArrayBuffer(limits.ioBatchBlocksMax * 16),
    );
    this.#iovecsAddress = this.addressOf(new Uint8Array(this.#iovecs.buffer));
  }

  /** Starts the worker; undefined where FFI is unavailable (the caller uses another backend). */
  static async start(options: RingIoOptions = {}): Promise<RingIo | undefined> {
    const libc = loadLibc();
    if (libc === undefined) return undefined;
    const submissions = createRing(submissionShape);
    const completions = createRing(completionShape);
    const stats = new SharedArrayBuffer(workerStatsBytes);
    const worker = new Worker(new URL("./worker_main.ts", import.meta.url), { type: "module" });
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (event) => {
        if (event.data === "ready") resolve();
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new DeviceError("EIO", `I/O worker failed to start: ${event.message}`));
      };
    });
    const init: WorkerInit = {
      submissions,
      completions,
      stats,
      libcPath: libcPath(),
      idleSpins: options.idleSpins ?? 20_000,
    };
    worker.postMessage(init);
    crossings.add("message_hop", 1);
    try {
      await ready;
    } catch (error) {
      worker.terminate();
      throw error;
    }
    return new RingIo(worker, submissions, completions, stats, libc, options.waitSpins ?? 4_000);
  }

  /**
   * Opens `path` as a device whose syncs go through this worker, and its transfers too with
   * `transfers: "ring"`; with `"direct"` reads and writes are FFI calls on the calling thread
   * (the engine waits for them anyway, and a hand-off to a sleeping worker costs a wake-up:
   * see bench/README.md, "I/O paths").
   */
  open(path: string, create: boolean, transfers: "ring" | "direct" = "ring"): RingFileDevice {
    const { fd, sizeBytes } = openDescriptor(this.#libc, path, create);
    const direct = transfers === "direct"
      ? FfiFileDevice.adopt(this.#libc, path, fd, sizeBytes)
      : undefined;
    return new RingFileDevice(this, this.#libc, path, fd, sizeBytes, direct);
  }

  /**
   * A new write generation. One counter for all devices: a descriptor number reused after a
   * close then never inherits the worker's record of an older file's sync (protocol rule 1a).
   */
  nextWriteGeneration(): number {
    return ++this.#writeGeneration;
  }

  /** The address of `view`'s first byte (hw/libc.ts `bufferAddress`: cached per buffer, rule 4). */
  addressOf(view: Uint8Array): number {
    return bufferAddress(view);
  }

  /** Runs one transfer and waits for it; returns bytes moved, throws on an errno. */
  runSync(op: IoOp, fd: number, address: number, length: number, offset: number, keep: unknown) {
    const id = this.#submit(op, fd, 0, address, length, offset, keep, undefined);
    return this.#await(id);
  }

  /** Runs a vectored transfer of `buffers` at `offset` and waits; returns bytes moved. */
  runVectoredSync(
    op: typeof IoOp.preadv | typeof IoOp.pwritev,
    fd: number,
    buffers: readonly Uint8Array[],
    offset: number,
  ): { moved: number; total: number } {
    assert(buffers.length <= limits.ioBatchBlocksMax, "at most ioBatchBlocksMax buffers per call");
    // One iovec array serves every vectored call: they are synchronous, so the previous one
    // has completed (and the worker has read its iovecs) before the next is filled.
    let total = 0;
    for (let i = 0; i < buffers.length; i++) {
      const buffer = buffers[i]!;
      this.#iovecs[i * 2] = BigInt(this.addressOf(buffer));
      this.#iovecs[i * 2 + 1] = BigInt(buffer.length);
      total += buffer.length;
    }
    const address = this.#iovecsAddress;
    const id = this.#submit(op, fd, buffers.length, address, total, offset, buffers, undefined);
    return { moved: this.#await(id), total };
  }

  /**
   * Submits an fdatasync of `fd` that must cover write generation `generation` (protocol.ts,
   * rule 1a); the promise settles when the worker completes it.
   */
  async syncAsync(fd: number, name: string, generation: number): Promise<void> {
    await this.#submitAsync(IoOp.fdatasync, fd, 0, 0, generation, undefined, `fdatasync ${name}`);
  }

  /**
   * Submits a read of `length` bytes at `offset` into `address` (`pread`), a write of them
   * (`pwrite`), or a write followed by an fdatasync of `fd` as one request (`pwriteSync`);
   * settles with the bytes moved once done. `keep` (the memory) is held until then and must not
   * change meanwhile (rule 3).
   */
  transferAsync(
    op: typeof IoOp.pread | typeof IoOp.pwrite | typeof IoOp.pwriteSync,
    fd: number,
    name: string,
    address: number,
    length: number,
    offset: number,
    keep: unknown,
  ): Promise<number> {
    const what = op === IoOp.pread ? "read" : op === IoOp.pwrite ? "write" : "write and fdatasync";
    return this.#submitAsync(op, fd, address, length, offset, keep, `${what} ${name} at ${offset}`);
  }

  /** One submission whose completion settles a promise (and keeps the async waiter armed). */
  #submitAsync(
    op: IoOp,
    fd: number,
    address: number,
    length: number,
    offset: number,
    keep: unknown,
    what: string,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#submit(op, fd, 0, address, length, offset, keep, (result, errno) => {
        this.#asyncInFlight--;
        if (errno === 0) resolve(result);
        else reject(errnoError(errno, what));
      });
      this.#asyncInFlight++;
      this.#armAsyncWaiter();
    });
  }

  /** Settles every completion already posted; never waits. The scheduler calls it each tick. */
  poll(): number {
    let settled = 0;
    for (;;) {
      const ready = this.#completions.peek(this.#completions.capacity);
      if (ready === 0) return settled;
      const words = this.#completions.words;
      const floats = this.#completions.floats;
      for (let k = 0; k < ready; k++) {
        const at = this.#completions.entry(k);
        const id = words[at + cId]! >>> 0;
        const pending = this.#pending.get(id);
        assert(pending !== undefined, `I/O completion ${id} matches a submission`);
        this.#pending.delete(id);
        pending.result = floats[at / 2 + cResultF]!;
        pending.errno = words[at + cErrno]!;
        pending.done = true;
        pending.keep = undefined;
        pending.settle?.(pending.result, pending.errno);
      }
      this.#completions.release(ready);
      this.#completed += ready;
      settled += ready;
    }
  }

  /** Figures for the stat views. */
  stats(): RingIoStats {
    const worker = {} as Record<WorkerStat, number>;
    workerStatSlots.forEach((name, index) => worker[name] = this.#stats[index]!);
    return {
      submitted: this.#submitted,
      completed: this.#completed,
      inFlight: this.#pending.size,
      syncWaits: this.#syncWaits,
      syncSleeps: this.#completions.stats.sleeps,
      wakesSent: this.#submissions.stats.wakesSent,
      worker,
    };
  }

  /** Stops the worker after everything submitted has completed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const id = this.#submit(IoOp.stop, 0, 0, 0, 0, 0, undefined, undefined);
    this.#await(id);
    this.#worker.terminate();
  }

  /** Waits until one submission slot is free, draining completions meanwhile (rule 3). */
  #reserveOne(): void {
    while (this.#submissions.reserve(1) === 0) {
      this.poll();
      if (this.#submissions.reserve(1) > 0) return;
      this.#submissions.waitForSpace(1);
    }
  }

  #submit(
    op: IoOp,
    fd: number,
    count: number,
    address: number,
    length: number,
    offset: number,
    keep: unknown,
    settle: Pending["settle"],
  ): number {
    assert(!this.#closed || op === IoOp.stop, "I/O on a closed worker");
    this.#reserveOne();
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) >>> 0 || 1;
    const at = this.#submissions.slot(0);
    const words = this.#submissions.words;
    const floats = this.#submissions.floats;
    words[at + sOp] = op;
    words[at + sFd] = fd;
    words[at + sId] = id;
    words[at + sCount] = count;
    floats[at / 2 + sAddressF] = address;
    floats[at / 2 + sLengthF] = length;
    floats[at / 2 + sOffsetF] = offset;
    this.#pending.set(id, { keep, settle, result: 0, errno: 0, done: false });
    this.#submissions.publish(1);
    this.#submitted++;
    return id;
  }

  /** Waits for submission `id`: polls, then sleeps on the completion ring's futex. */
  #await(id: number): number {
    const pending = this.#pending.get(id)!;
    this.#syncWaits++;
    for (;;) {
      this.poll();
      if (pending.done) break;
      this.#completions.waitForEntries(1_000, this.#waitSpins);
    }
    if (pending.errno !== 0) throw new RingErrno(pending.errno);
    return pending.result;
  }

  /**
   * Keeps one asynchronous waiter on the completion ring while syncs are in flight, so a
   * completion settles its promise even when the kernel is idle (no tick, no synchronous wait).
   */
  #armAsyncWaiter(): void {
    if (this.#asyncWaiterArmed) return;
    this.#asyncWaiterArmed = true;
    const loop = async () => {
      try {
        while (this.#asyncInFlight > 0 && !this.#closed) {
          if (this.poll() > 0) continue;
          await this.#completions.waitForEntriesAsync(100);
        }
      } finally {
        this.#asyncWaiterArmed = false;
      }
    };
    void loop();
  }
}

/** An errno from the worker; devices turn it into a DeviceError naming the call. */
class RingErrno extends Error {
  readonly errno: number;
  constructor(errno: number) {
    super(errnoName(errno));
    this.errno = errno;
  }
}

/** A raw file whose transfers and syncs run on the I/O worker. */
export class RingFileDevice implements RawDevice {
  readonly name: string;
  readonly #io: RingIo;
  readonly #libc: Libc;
  #fd: number;
  #sizeBytes: number;
  /** Set when transfers are direct FFI calls (same descriptor); syncs still use the ring. */
  readonly #direct: FfiFileDevice | undefined;
  /**
   * The generation of this device's last write or size change, on either path (from the
   * ring's counter; opening counts as one): each sync carries it, so the worker never answers a
   * sync from one that began before a write (protocol rule 1a).
   */
  #writeGeneration: number;

  constructor(
    io: RingIo,
    libc: Libc,
    path: string,
    fd: number,
    sizeBytes: number,
    direct?: FfiFileDevice,
  ) {
    this.#io = io;
    this.#libc = libc;
    this.name = path;
    this.#fd = fd;
    this.#sizeBytes = sizeBytes;
    this.#direct = direct;
    // Bytes an earlier descriptor left unsynced are covered by this device's first sync.
    this.#writeGeneration = io.nextWriteGeneration();
  }

  sizeBytes(): number {
    return this.#direct?.sizeBytes() ?? this.#sizeBytes;
  }

  read(target: Uint8Array, offsetBytes: number): void {
    if (this.#direct !== undefined) this.#direct.read(target, offsetBytes);
    else this.#transfer(IoOp.pread, target, offsetBytes, "read");
  }

  write(source: Uint8Array, offsetBytes: number): void {
    this.#writeGeneration = this.#io.nextWriteGeneration();
    if (this.#direct !== undefined) this.#direct.write(source, offsetBytes);
    else this.#transfer(IoOp.pwrite, source, offsetBytes, "write");
  }

  readBatch(targets: readonly Uint8Array[], offsetBytes: number): void {
    if (this.#direct !== undefined) this.#direct.readBatch(targets, offsetBytes);
    else this.#vectored(IoOp.preadv, targets, offsetBytes, "read");
  }

  writeBatch(sources: readonly Uint8Array[], offsetBytes: number): void {
    this.#writeGeneration = this.#io.nextWriteGeneration();
    if (this.#direct !== undefined) this.#direct.writeBatch(sources, offsetBytes);
    else this.#vectored(IoOp.pwritev, sources, offsetBytes, "write");
  }

  flush(): void {
    this.#check(0, 0, "fdatasync");
    try {
      this.#io.runSync(IoOp.fdatasync, this.#fd, 0, 0, this.#writeGeneration, undefined);
    } catch (error) {
      throw this.#deviceError(error, "fdatasync", 0);
    }
  }

  flushAsync(): Promise<void> {
    this.#check(0, 0, "fdatasync");
    return this.#io.syncAsync(this.#fd, this.name, this.#writeGeneration);
  }

  readAsync(target: Uint8Array, offsetBytes: number): Promise<void> {
    return this.#transferAsync(IoOp.pread, target, offsetBytes);
  }

  writeAsync(source: Uint8Array, offsetBytes: number): Promise<void> {
    this.#writeGeneration = this.#io.nextWriteGeneration(); // protocol rule 1a
    return this.#transferAsync(IoOp.pwrite, source, offsetBytes);
  }

  writeQueued(source: Uint8Array, offsetBytes: number): void {
    // Through the ring even on the mixed path: the worker runs it after every earlier request.
    this.#writeGeneration = this.#io.nextWriteGeneration(); // protocol rule 1a
    this.#transfer(IoOp.pwrite, source, offsetBytes, "write");
  }

  writeAndFlushAsync(source: Uint8Array, offsetBytes: number): Promise<void> {
    this.#writeGeneration = this.#io.nextWriteGeneration(); // protocol rule 1a: later syncs must cover this write
    return this.#transferAsync(IoOp.pwriteSync, source, offsetBytes);
  }

  /** A read, a write, or a write followed by a sync, on the worker; `buffer` is held until it settles. */
  async #transferAsync(
    op: typeof IoOp.pread | typeof IoOp.pwrite | typeof IoOp.pwriteSync,
    buffer: Uint8Array,
    offsetBytes: number,
  ) {
    const what = op === IoOp.pread ? "read" : "write";
    this.#check(offsetBytes, buffer.length, what);
    const n = await this.#io.transferAsync(
      op,
      this.#fd,
      this.name,
      this.#io.addressOf(buffer),
      buffer.length,
      offsetBytes,
      buffer,
    );
    if (n !== buffer.length) this.#short(n, what, buffer.length, offsetBytes);
  }

  allocate(sizeBytes: number): void {
    // Growth is rare (an extent at a time) and must be reserved now: done on the kernel thread,
    // after the worker finished everything submitted before (its writes are synchronous).
    this.#writeGeneration = this.#io.nextWriteGeneration(); // the new size must reach the disk with the next sync
    if (this.#direct !== undefined) {
      this.#direct.allocate(sizeBytes);
      return;
    }
    if (sizeBytes <= this.#sizeBytes) return;
    reserveRange(this.#libc, this.#fd, this.#sizeBytes, sizeBytes, this.name);
    this.#sizeBytes = sizeBytes;
  }

  close(): void {
    if (this.#fd < 0) return;
    if (this.#direct !== undefined) this.#direct.close();
    else closeDescriptor(this.#libc, this.#fd);
    this.#fd = -1;
  }

  #transfer(op: IoOp, buffer: Uint8Array, offsetBytes: number, what: string): void {
    this.#check(offsetBytes, buffer.length, what);
    let n: number;
    try {
      n = this.#io.runSync(
        op,
        this.#fd,
        this.#io.addressOf(buffer),
        buffer.length,
        offsetBytes,
        buffer,
      );
    } catch (error) {
      throw this.#deviceError(error, what, offsetBytes);
    }
    if (n !== buffer.length) this.#short(n, what, buffer.length, offsetBytes);
  }

  #vectored(
    op: typeof IoOp.preadv | typeof IoOp.pwritev,
    buffers: readonly Uint8Array[],
    offsetBytes: number,
    what: string,
  ): void {
    let done = 0;
    let offset = offsetBytes;
    while (done < buffers.length) {
      const part = buffers.slice(done, done + limits.ioBatchBlocksMax);
      const total = part.reduce((sum, b) => sum + b.length, 0);
      this.#check(offset, total, what);
      let moved: number;
      try {
        moved = this.#io.runVectoredSync(op, this.#fd, part, offset).moved;
      } catch (error) {
        throw this.#deviceError(error, what, offset);
      }
      if (moved !== total) this.#short(moved, what, total, offset);
      done += part.length;
      offset += total;
    }
  }

  #check(offsetBytes: number, lengthBytes: number, what: string): void {
    checkRange(this.name, this.#fd, this.sizeBytes(), offsetBytes, lengthBytes, what);
  }

  #deviceError(error: unknown, what: string, offsetBytes: number): unknown {
    if (!(error instanceof RingErrno)) return error;
    return errnoError(error.errno, `${what} ${this.name} at ${offsetBytes}`);
  }

  #short(n: number, what: string, lengthBytes: number, offsetBytes: number): never {
    throw new DeviceError(
      "EIO",
      `Short ${what} on ${this.name} at offset ${offsetBytes}: ${n} of ${lengthBytes} bytes`,
    );
  }
}
