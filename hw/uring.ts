/**
 * Linux io_uring through Deno's FFI: a submission queue and a completion queue the kernel shares
 * with this process (mmap'd once at setup), so any number of operations cross with one
 * `io_uring_enter` and their results come back as plain memory loads. The NIC (net_uring.ts)
 * uses it for accepts, receives and sends; the log device (disk_uring.ts) shares the same ring
 * for its linked write → fdatasync, so a group commit rides on the enter that sends replies.
 *
 * Layouts are the kernel's UAPI (include/uapi/linux/io_uring.h): `struct io_uring_params` is 120
 * bytes, an SQE 64, a CQE 16. The syscall numbers 425/426 are the same on every architecture.
 *
 * Invariants:
 * 1. Only this isolate's thread writes SQEs and moves the SQ tail and the CQ head (single
 *    producer, single consumer on our side); the kernel moves the SQ head and the CQ tail.
 * 2. The SQ index array is the identity, written once: SQE slot i is always array entry i.
 * 3. An SQE's memory operands stay referenced by the caller until its CQE is reaped.
 * 4. User data tells the owners apart: values whose top two bits are `10` (see
 *    {@link uringDiskTag}) belong to the disk handler, every other value to the net handler.
 * 5. The ring is released when its last owner closes it ({@link retain} adds an owner).
 */
import { crossings } from "./crossings.ts";
import { bufferAddress, ffiInt, lastErrno, libcWith } from "./libc.ts";

const sysIoUringSetup = 425;
const sysIoUringEnter = 426;
/** IORING_ENTER_GETEVENTS: wait for `min_complete` completions. */
const enterGetEvents = 1;
/** IORING_FEAT_SINGLE_MMAP: the SQ and CQ rings share one mapping. */
const featSingleMmap = 1;
/** IORING_SETUP_CQSIZE: `cq_entries` in the params is honoured. */
const setupCqSize = 1 << 3;
/** IORING_SETUP_SUBMIT_ALL: one failing SQE does not stop the rest of the batch. */
const setupSubmitAll = 1 << 7;
/**
 * IORING_SETUP_COOP_TASKRUN: the OS runs a completion's work for this thread (a receive's copy
 * once data arrived, after the poll that armed it fired) at the thread's next kernel entry
 * instead of interrupting it with an inter-processor interrupt while it runs JS. A sleeping
 * thread is still woken for it (the flag only drops the IPI to a running one), and the kernel
 * thread enters the kernel at every event-loop turn and tick, so completions wait at most a
 * slice. Measured on this VM (perf): the reschedule IPIs had cost the kernel thread 17% of its
 * time under pgbench select-only; with the flag select-only rose 15% and TPC-B 9–30%.
 */
const setupCoopTaskrun = 1 << 8;
const offSqRing = 0;
const offSqes = 0x10000000;
const protReadWrite = 0x1 | 0x2;
const mapSharedPopulate = 0x01 | 0x08000;

/** The io_uring opcodes ExoDB issues. */
export const UringOp = {
  nop: 0,
  fsync: 3,
  accept: 13,
  asyncCancel: 14,
  write: 23,
  send: 26,
  recv: 27,
} as const;

/** IOSQE_IO_LINK: the next SQE starts only once this one succeeded (a short transfer fails it). */
export const uringSqeLink = 1 << 2;
/** IORING_FSYNC_DATASYNC: the fsync is an fdatasync. */
export const uringFsyncDatasync = 1;
/** User data with this top-bit pattern goes to the disk handler (invariant 4); ids below 2^30. */
export const uringDiskTag = 0x80000000;
const ownerBitsMask = 0xc0000000;

const uringSymbols = {
  syscall: {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  // The same call on Deno's blocking-call pool: the idle wait for completions, off the thread.
  syscall_nonblocking: {
    name: "syscall",
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
    nonblocking: true,
  },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type UringSymbols = Deno.DynamicLibrary<typeof uringSymbols>["symbols"];

/**
 * syscall(2) with four arguments and the last two zero (io_uring_enter's signal mask and its
 * size: none). Every argument register is passed, so none holds garbage the kernel might read.
 */
function syscall4<R>(
  call: (n: bigint, a: bigint, b: bigint, c: bigint, d: bigint, e: bigint, f: bigint) => R,
  number: number,
  a: number,
  b: number,
  c: number,
  d: number,
): R {
  return call(ffiInt(number), ffiInt(a), ffiInt(b), ffiInt(c), ffiInt(d), ffiInt(0), ffiInt(0));
}

/** One completion as {@link Uring.reap} hands it over. */
export type CompletionHandler = (userData: number, result: number, flags: number) => void;

/** Counters of one ring. */
export interface UringStats {
  /** `io_uring_enter` calls that submitted (each one FFI call and one syscall). */
  enters: number;
  /** SQEs submitted. */
  submitted: number;
  /** CQEs reaped. */
  reaped: number;
  /** Idle waits for a completion on the blocking pool (each one thread hop back). */
  idleWaits: number;
}

/** An io_uring instance with its rings mapped into this isolate. */
export class Uring {
  readonly #symbols: UringSymbols;
  readonly #fd: number;
  readonly #ringPointer: Deno.PointerObject;
  readonly #ringBytes: number;
  readonly #sqePointer: Deno.PointerObject;
  readonly #sqeBytes: number;
  /** The shared ring header and CQE array, as 32-bit words. */
  readonly #ring: Int32Array;
  /** The SQE array, as 32-bit words (16 per entry). */
  readonly #sqes: Int32Array;
  readonly #sqHeadWord: number;
  readonly #sqTailWord: number;
  readonly #sqMask: number;
  readonly #cqHeadWord: number;
  readonly #cqTailWord: number;
  readonly #cqMask: number;
  readonly #cqesWord: number;
  /** SQEs written, mod 2^32 (our copy of the SQ tail, ahead of the shared one until submit). */
  #sqTail: number;
  /** SQEs made visible to the kernel, mod 2^32. */
  #sqPublished: number;
  #cqHead: number;
  #closed = false;
  /** Owners that have not closed the ring yet (invariant 5). */
  #owners = 1;
  /** Who settles each completion (invariant 4); a completion without a handler is dropped. */
  readonly handlers: { net?: CompletionHandler; disk?: CompletionHandler } = {};
  /** The blocking-pool wait in flight, if any. */
  #idleWait: Promise<void> | undefined;
  readonly sqEntries: number;
  readonly stats: UringStats = { enters: 0, submitted: 0, reaped: 0, idleWaits: 0 };

  private constructor(symbols: UringSymbols, fd: number, params: DataView) {
    this.#symbols = symbols;
    this.#fd = fd;
    this.sqEntries = params.getUint32(0, true);
    const cqEntries = params.getUint32(4, true);
    const features = params.getUint32(20, true);
    const sqOff = (field: number) => params.getUint32(40 + field * 4, true);
    const cqOff = (field: number) => params.getUint32(80 + field * 4, true);
    const sqRingBytes = sqOff(6) + this.sqEntries * 4; // array offset + one u32 per entry
    const cqRingBytes = cqOff(5) + cqEntries * 16; // cqes offset + one CQE per entry
    if ((features & featSingleMmap) === 0) {
      throw new Error("io_uring without IORING_FEAT_SINGLE_MMAP (kernel before 5.4)");
    }
    this.#ringBytes = Math.max(sqRingBytes, cqRingBytes);
    this.#ringPointer = this.#map(this.#ringBytes, offSqRing);
    this.#sqeBytes = this.sqEntries * 64;
    this.#sqePointer = this.#map(this.#sqeBytes, offSqes);
    this.#ring = new Int32Array(
      Deno.UnsafePointerView.getArrayBuffer(this.#ringPointer, this.#ringBytes),
    );
    this.#sqes = new Int32Array(
      Deno.UnsafePointerView.getArrayBuffer(this.#sqePointer, this.#sqeBytes),
    );
    this.#sqHeadWord = sqOff(0) / 4;
    this.#sqTailWord = sqOff(1) / 4;
    this.#sqMask = this.#ring[sqOff(2) / 4]!;
    const arrayWord = sqOff(6) / 4;
    for (let i = 0; i < this.sqEntries; i++) this.#ring[arrayWord + i] = i; // invariant 2
    this.#cqHeadWord = cqOff(0) / 4;
    this.#cqTailWord = cqOff(1) / 4;
    this.#cqMask = this.#ring[cqOff(2) / 4]!;
    this.#cqesWord = cqOff(5) / 4;
    this.#sqTail = this.#sqPublished = Atomics.load(this.#ring, this.#sqTailWord);
    this.#cqHead = Atomics.load(this.#ring, this.#cqHeadWord);
  }

  /**
   * A ring of `entries` submission slots (a power of two) and twice as many completion slots;
   * undefined where io_uring is unavailable (another OS, no FFI, a kernel or sandbox without it).
   */
  static open(entries: number): Uring | undefined {
    const symbols = libcWith(uringSymbols);
    if (symbols === undefined) return undefined;
    const params = new Uint8Array(120);
    const view = new DataView(params.buffer);
    const setup = (flags: number) => {
      params.fill(0);
      view.setUint32(4, entries * 2, true); // cq_entries
      view.setUint32(8, flags, true);
      crossings.add("ffi_call", 1);
      crossings.add("syscall", 1);
      return Number(
        syscall4(symbols.syscall, sysIoUringSetup, entries, bufferAddress(params), 0, 0),
      );
    };
    let fd = setup(setupCqSize | setupSubmitAll | setupCoopTaskrun);
    if (fd < 0) fd = setup(setupCqSize | setupSubmitAll); // a kernel before 5.19: EINVAL
    if (fd < 0) return undefined; // ENOSYS, EPERM (io_uring_disabled), ENOMEM (memlock)
    try {
      return new Uring(symbols, fd, view);
    } catch {
      symbols.close(fd);
      return undefined;
    }
  }

  #map(bytes: number, offset: number): Deno.PointerObject {
    const pointer = this.#symbols.mmap(
      null,
      ffiInt(bytes),
      protReadWrite,
      mapSharedPopulate,
      this.#fd,
      ffiInt(offset),
    );
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
    const value = Number(Deno.UnsafePointer.value(pointer));
    if (pointer === null || value === -1 || value === 2 ** 64 - 1) {
      throw new Error(`io_uring mmap failed (errno ${lastErrno(this.#symbols)})`);
    }
    return pointer;
  }

  /**
   * Free SQ slots (written but unsubmitted entries count as used). The OS's head is read every
   * time: a cached head goes stale as the OS consumes, and a stale one under-counts.
   */
  freeSlots(): number {
    return this.sqEntries - ((this.#sqTail - Atomics.load(this.#ring, this.#sqHeadWord)) >>> 0);
  }

  /**
   * Writes one SQE (not yet visible to the kernel: {@link submit} publishes). `address` and
   * `offset` are byte addresses/offsets below 2^53. False when the SQ is full.
   */
  push(
    op: number,
    fd: number,
    address: number,
    length: number,
    opFlags: number,
    userData: number,
    ioprio = 0,
    offset = 0,
    sqeFlags = 0,
  ): boolean {
    if (this.freeSlots() === 0) return false;
    const base = ((this.#sqTail & this.#sqMask) >>> 0) * 16;
    const sqes = this.#sqes;
    sqes[base] = (op & 0xff) | ((sqeFlags & 0xff) << 8) | ((ioprio & 0xffff) << 16);
    sqes[base + 1] = fd;
    sqes[base + 2] = offset % 0x100000000;
    sqes[base + 3] = Math.floor(offset / 0x100000000);
    sqes[base + 4] = address % 0x100000000;
    sqes[base + 5] = Math.floor(address / 0x100000000);
    sqes[base + 6] = length;
    sqes[base + 7] = opFlags;
    sqes[base + 8] = userData;
    sqes[base + 9] = 0;
    sqes[base + 10] = 0;
    sqes[base + 11] = 0;
    sqes[base + 12] = 0;
    sqes[base + 13] = 0;
    sqes[base + 14] = 0;
    sqes[base + 15] = 0;
    this.#sqTail = (this.#sqTail + 1) | 0;
    return true;
  }

  /** SQEs written that the OS has not consumed yet (published or not). */
  unsubmitted(): number {
    return (this.#sqTail - Atomics.load(this.#ring, this.#sqHeadWord)) >>> 0;
  }

  /**
   * Publishes every written SQE and has the OS consume them with one `io_uring_enter` (more
   * only after EINTR). Returns the enters made; 0, without a crossing, when nothing waited.
   * (An SQ-polling OS thread, IORING_SETUP_SQPOLL, would make submitting a plain store: on
   * two cores its spinning cost a third of TPC-B's throughput, so it is not used.)
   */
  submit(): number {
    if (this.#closed || this.#sqTail === this.#sqPublished && this.unsubmitted() === 0) return 0;
    Atomics.store(this.#ring, this.#sqTailWord, this.#sqTail); // release: SQEs before the tail
    this.stats.submitted += (this.#sqTail - this.#sqPublished) >>> 0;
    this.#sqPublished = this.#sqTail;
    let enters = 0;
    for (let left = this.unsubmitted(); left > 0 && enters < 4; left = this.unsubmitted()) {
      enters++;
      const result = this.#enter(left);
      // EINTR: again. EAGAIN/EBUSY (completions to reap first) or 0: the rest stay published
      // and go with the next submit, which counts them in (unsubmitted reads the OS's head).
      if (result <= 0 && lastErrno(this.#symbols) !== 4) break;
    }
    return enters;
  }

  #enter(toSubmit: number): number {
    const result = Number(
      syscall4(this.#symbols.syscall, sysIoUringEnter, this.#fd, toSubmit, 0, 0),
    );
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
    this.stats.enters++;
    return result;
  }

  /** Hands every available CQE to its owner's handler and gives the slots back; returns how many. */
  reap(): number {
    if (this.#closed) return 0;
    const ring = this.#ring;
    const tail = Atomics.load(ring, this.#cqTailWord); // acquire: CQEs before the tail
    let head = this.#cqHead;
    if (head === tail) return 0;
    let count = 0;
    while (head !== tail) {
      const base = this.#cqesWord + ((head & this.#cqMask) >>> 0) * 4;
      const userData = ring[base]! >>> 0;
      const result = ring[base + 2]!;
      const flags = ring[base + 3]! >>> 0;
      head = (head + 1) | 0;
      count++;
      const handler = (userData & ownerBitsMask) >>> 0 === uringDiskTag
        ? this.handlers.disk
        : this.handlers.net;
      handler?.(userData, result, flags);
    }
    this.#cqHead = head;
    Atomics.store(ring, this.#cqHeadWord, head);
    this.stats.reaped += count;
    return count;
  }

  /** True when a CQE is waiting to be reaped (a plain load). */
  hasCompletions(): boolean {
    return !this.#closed && Atomics.load(this.#ring, this.#cqTailWord) !== this.#cqHead;
  }

  /**
   * Resolves once at least one completion is posted, waiting on Deno's blocking-call pool so
   * the event loop stays free (for when the kernel thread has nothing else to do). One wait at
   * a time: a second call returns the first's promise.
   */
  waitIdle(): Promise<void> {
    if (this.#idleWait !== undefined) return this.#idleWait;
    if (this.#closed || this.hasCompletions()) return Promise.resolve();
    this.stats.idleWaits++;
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
    crossings.add("thread_hop", 1);
    this.#idleWait = syscall4(
      this.#symbols.syscall_nonblocking,
      sysIoUringEnter,
      this.#fd,
      0,
      1,
      enterGetEvents,
    ).then(() => {
      this.#idleWait = undefined;
      if (this.#closed) this.#release();
    });
    return this.#idleWait;
  }

  /**
   * Waits on this thread until at least one completion is posted (blocking: for a caller that
   * must see its request finish before it goes on, like a synchronous log flush).
   */
  waitBlocking(): void {
    if (this.#closed || this.hasCompletions()) return;
    syscall4(this.#symbols.syscall, sysIoUringEnter, this.#fd, 0, 1, enterGetEvents);
    crossings.add("ffi_call", 1);
    crossings.add("syscall", 1);
  }

  /** Adds an owner: the ring stays open until every owner has closed it (invariant 5). */
  retain(): this {
    if (!this.#closed) this.#owners++;
    return this;
  }

  /**
   * Drops one owner; the last one unmaps and closes, once no idle wait is blocked in the ring
   * (a NOP's completion ends such a wait).
   */
  close(): void {
    if (this.#closed) return;
    if (--this.#owners > 0) return;
    if (this.#idleWait !== undefined) {
      // A NOP's completion ends the blocked wait; the memory is released when it returns.
      if (this.push(UringOp.nop, -1, 0, 0, 0, 0xffffffff)) this.submit();
    }
    this.#closed = true;
    if (this.#idleWait === undefined) this.#release();
  }

  #release(): void {
    this.#symbols.munmap(this.#sqePointer, ffiInt(this.#sqeBytes));
    this.#symbols.munmap(this.#ringPointer, ffiInt(this.#ringBytes));
    this.#symbols.close(this.#fd);
    crossings.add("ffi_call", 3);
    crossings.add("syscall", 3);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }
}
