/**
 * A single-producer single-consumer ring of fixed-size entries in one SharedArrayBuffer, shared
 * between two isolates (the kernel and a Worker). Entries are typed words written in place — no
 * structured clone, no copy beyond the producer's stores and the consumer's loads. A ring carries
 * one direction; a submission ring and a completion ring make a pair.
 *
 * Shared layout (little-endian, every field 32-bit; control words on separate 64-byte lines so
 * the producer's and the consumer's stores do not share a cache line):
 *
 * | offset | size | field            | written by | meaning                                          |
 * | -----: | ---: | ---------------- | ---------- | ------------------------------------------------ |
 * |      0 |    4 | magic            | create     | `0x52494e47` ("RING")                            |
 * |      4 |    4 | capacity         | create     | entries, a power of two, 2 … 2^20                |
 * |      8 |    4 | entryWords       | create     | 32-bit words per entry, even (8-byte aligned)    |
 * |     12 |   52 | reserved         |            | zero                                             |
 * |     64 |    4 | head             | consumer   | entries consumed so far, mod 2^32                |
 * |     68 |    4 | producerSleeping | producer   | 1 while the producer waits for space             |
 * |    128 |    4 | tail             | producer   | entries published so far, mod 2^32               |
 * |    132 |    4 | consumerSleeping | consumer   | 1 while the consumer waits for entries           |
 * |    192 |    … | entries          | producer   | `capacity` × `entryWords` × 4 bytes              |
 *
 * Invariants:
 * 1. head and tail only grow (mod 2^32, as int32 with wrap); `(tail - head) >>> 0` is the number
 *    of published, unconsumed entries and never exceeds capacity.
 * 2. Entry n lives in slot `n & (capacity - 1)`; the producer writes slot n only while
 *    `n - head < capacity` (never overwrites an unconsumed entry), the consumer reads it only
 *    while `n - head < tail - head`.
 * 3. Publication is one seq-cst store of tail after the entries' stores, so the consumer that
 *    loads tail sees every entry below it (many entries, one store: batched submission).
 * 4. Each publish is one counted crossing (`thread_hop` in hw/crossings.ts) carrying the batch's
 *    bytes with zero copies; a release (the consumer's reply of free space) is not counted. A
 *    notify sent to a sleeper and a sleep are each one counted `syscall` (a futex call).
 * 5. No lost wake-up: a sleeper stores its sleeping flag, re-reads the counter and waits only on
 *    the value it read (Atomics.wait returns at once when it changed); the other side stores the
 *    counter, then reads the flag, and notifies only when it is set (Dekker with seq-cst atomics).
 */
import { assert } from "../../lib/assert.ts";
import { crossings } from "../../hw/crossings.ts";

/** The magic word at offset 0. */
export const ringMagic = 0x52494e47;
/** Bytes before the first entry. */
export const ringHeaderBytes = 192;
/** Most entries a ring holds. */
export const ringCapacityMax = 1 << 20;

// Int32 indexes of the control words.
const magicWord = 0;
const capacityWord = 1;
const entryWordsWord = 2;
const headWord = 16;
const producerSleepingWord = 17;
const tailWord = 32;
const consumerSleepingWord = 33;

/** The shape of a ring. */
export interface RingShape {
  /** Entries; a power of two. */
  capacity: number;
  /** 32-bit words per entry; even, so f64 fields stay 8-byte aligned. */
  entryWords: number;
}

/** Options for {@link createRing}. */
export interface CreateRingOptions {
  /** Starting value of head and tail (tests of the 2^32 wrap); 0 by default. */
  initialCounter?: number;
}

/** Bytes of shared memory a ring of this shape takes. */
export function ringBytes(shape: RingShape): number {
  return ringHeaderBytes + shape.capacity * shape.entryWords * 4;
}

/** Allocates and initializes a ring's shared memory. */
export function createRing(shape: RingShape, options: CreateRingOptions = {}): SharedArrayBuffer {
  const { capacity, entryWords } = shape;
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > ringCapacityMax) {
    throw new RangeError(`Ring capacity must be 2 to ${ringCapacityMax}: got ${capacity}`);
  }
  if ((capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`Ring capacity must be a power of two: got ${capacity}`);
  }
  if (!Number.isInteger(entryWords) || entryWords < 2 || entryWords % 2 !== 0) {
    throw new RangeError(`Ring entry words must be an even number >= 2: got ${entryWords}`);
  }
  const buffer = new SharedArrayBuffer(ringBytes(shape));
  const control = new Int32Array(buffer, 0, ringHeaderBytes / 4);
  control[magicWord] = ringMagic;
  control[capacityWord] = capacity;
  control[entryWordsWord] = entryWords;
  const start = (options.initialCounter ?? 0) | 0;
  control[headWord] = start;
  control[tailWord] = start;
  return buffer;
}

/** Counters one endpoint keeps about its own side (plain numbers: never shared). */
export interface RingEndpointStats {
  /** Entries published (producer) or released (consumer). */
  entries: number;
  /** Tail stores (producer) or head stores (consumer): one per batch. */
  batches: number;
  /** Atomics.notify calls made to wake the other side. */
  wakesSent: number;
  /** Times this side went to sleep (Atomics.wait or waitAsync). */
  sleeps: number;
  /** Producer: times it found the ring full. Consumer: times it found it empty. */
  stalls: number;
}

/** Outcome of a wait. */
export type RingWaitResult = "ready" | "timed-out";

/**
 * What both endpoints share: the views over the buffer. `words`/`floats` address the entry
 * area; entry n's first word is `offsetOf(n)` in `words` (and `offsetOf(n) / 2` in `floats`).
 */
class RingView {
  readonly capacity: number;
  readonly entryWords: number;
  /** The entry area as int32 words (use `>>> 0` for unsigned fields). */
  readonly words: Int32Array;
  /** The entry area as float64 values. */
  readonly floats: Float64Array;
  protected readonly control: Int32Array;
  protected readonly mask: number;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength < ringHeaderBytes) {
      throw new RangeError(`Not a ring: ${buffer.byteLength} bytes is smaller than its header`);
    }
    this.control = new Int32Array(buffer, 0, ringHeaderBytes / 4);
    if (this.control[magicWord] !== ringMagic) {
      throw new RangeError(`Not a ring: magic ${this.control[magicWord]!.toString(16)}`);
    }
    this.capacity = this.control[capacityWord]!;
    this.entryWords = this.control[entryWordsWord]!;
    assert(buffer.byteLength === ringBytes(this), "ring buffer size matches its header");
    this.mask = this.capacity - 1;
    const entryBytes = this.capacity * this.entryWords * 4;
    this.words = new Int32Array(buffer, ringHeaderBytes, entryBytes / 4);
    this.floats = new Float64Array(buffer, ringHeaderBytes, entryBytes / 8);
  }

  /** Word offset of entry number `n` (a counter value, any int32) in `words`. */
  offsetOf(n: number): number {
    return (n & this.mask) * this.entryWords;
  }
}

function newStats(): RingEndpointStats {
  return { entries: 0, batches: 0, wakesSent: 0, sleeps: 0, stalls: 0 };
}

/**
 * Waits until `control[index]` differs from `observed`: Atomics.wait in a Worker (blocking),
 * Atomics.waitAsync on an isolate that must keep its event loop running.
 */
function waitOn(
  control: Int32Array,
  index: number,
  observed: number,
  timeoutMs: number,
): RingWaitResult {
  const outcome = Atomics.wait(control, index, observed, timeoutMs);
  return outcome === "timed-out" ? "timed-out" : "ready";
}

async function waitOnAsync(
  control: Int32Array,
  index: number,
  observed: number,
  timeoutMs: number,
): Promise<RingWaitResult> {
  const waiting = Atomics.waitAsync(control, index, observed, timeoutMs);
  if (!waiting.async) return waiting.value === "timed-out" ? "timed-out" : "ready";
  // A pending waitAsync does not keep Deno's event loop alive; a timer does, until it settles.
  const keepAlive = setInterval(() => {}, Math.min(1_000, Math.max(1, timeoutMs)));
  try {
    return (await waiting.value) === "timed-out" ? "timed-out" : "ready";
  } finally {
    clearInterval(keepAlive);
  }
}

/** The producing end of a ring. Exactly one per ring, in one isolate. */
export class RingProducer extends RingView {
  /** Entries published, mod 2^32 (this side's copy of tail). */
  #tail: number;
  /** The last head this side read; refreshed only when the ring looks full. */
  #headSeen: number;
  /** Counters of this side. */
  readonly stats: RingEndpointStats = newStats();

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.#tail = Atomics.load(this.control, tailWord);
    this.#headSeen = Atomics.load(this.control, headWord);
  }

  /**
   * Up to `wanted` free slots (0 when full). Fill entries `slot(0)` … `slot(k - 1)`, then
   * {@link publish} them; nothing is visible to the consumer before that.
   */
  reserve(wanted: number): number {
    let free = this.capacity - ((this.#tail - this.#headSeen) >>> 0);
    if (free < wanted) {
      this.#headSeen = Atomics.load(this.control, headWord);
      free = this.capacity - ((this.#tail - this.#headSeen) >>> 0);
      if (free === 0) this.stats.stalls++;
    }
    return Math.min(free, wanted);
  }

  /** Word offset in `words` of the k-th reserved, unpublished entry. */
  slot(k: number): number {
    return this.offsetOf(this.#tail + k);
  }

  /** Publishes `count` filled entries with one tail store; wakes the consumer if it sleeps. */
  publish(count: number): void {
    assert(
      count >= 0 && ((this.#tail + count - this.#headSeen) >>> 0) <= this.capacity,
      "publish at most the reserved slots",
    );
    if (count === 0) return;
    this.#tail = (this.#tail + count) | 0;
    Atomics.store(this.control, tailWord, this.#tail);
    this.stats.entries += count;
    this.stats.batches++;
    // One thread hop per batch, written in place: no copy beyond the producer's own stores.
    crossings.add("thread_hop", 1, count * this.entryWords * 4, 0);
    if (Atomics.load(this.control, consumerSleepingWord) === 1) {
      Atomics.notify(this.control, tailWord);
      this.stats.wakesSent++;
      crossings.add("syscall", 1);
    }
  }

  /**
   * Wakes every waiter on the tail whether or not the consumer raised its sleeping flag: for a
   * consumer that keeps an asynchronous waiter registered across its own synchronous waits.
   */
  wake(): void {
    Atomics.notify(this.control, tailWord);
  }

  /** Writes and publishes one entry if there is room; false when the ring is full. */
  tryPush(fill: (words: Int32Array, offset: number) => void): boolean {
    if (this.reserve(1) === 0) return false;
    fill(this.words, this.slot(0));
    this.publish(1);
    return true;
  }

  /** Blocks (Worker only) until at least one slot is free or `timeoutMs` passes. */
  waitForSpace(timeoutMs = Infinity): RingWaitResult {
    return this.#sleep(timeoutMs, waitOn) as RingWaitResult;
  }

  /** Resolves when at least one slot is free or `timeoutMs` passes; never blocks the loop. */
  waitForSpaceAsync(timeoutMs = Infinity): Promise<RingWaitResult> {
    return Promise.resolve(this.#sleep(timeoutMs, waitOnAsync));
  }

  #sleep<R>(
    timeoutMs: number,
    wait: (control: Int32Array, index: number, observed: number, timeoutMs: number) => R,
  ): R | RingWaitResult | Promise<RingWaitResult> {
    if (this.reserve(1) > 0) return "ready";
    Atomics.store(this.control, producerSleepingWord, 1);
    const head = Atomics.load(this.control, headWord);
    if (head !== this.#headSeen) { // the consumer moved between reserve() and the flag store
      Atomics.store(this.control, producerSleepingWord, 0);
      this.#headSeen = head;
      return "ready";
    }
    this.stats.sleeps++;
    crossings.add("syscall", 1);
    const outcome = wait(this.control, headWord, head, timeoutMs);
    const clear = (result: RingWaitResult): RingWaitResult => {
      Atomics.store(this.control, producerSleepingWord, 0);
      return this.reserve(1) > 0 ? "ready" : result;
    };
    if (outcome instanceof Promise) return outcome.then(clear);
    return clear(outcome as RingWaitResult);
  }

  /** Entries published and not yet consumed. */
  pending(): number {
    return (this.#tail - Atomics.load(this.control, headWord)) >>> 0;
  }
}

/** The consuming end of a ring. Exactly one per ring, in one isolate. */
export class RingConsumer extends RingView {
  /** Entries consumed, mod 2^32 (this side's copy of head). */
  #head: number;
  /** The last tail this side read; refreshed only when the ring looks empty. */
  #tailSeen: number;
  /** Counters of this side. */
  readonly stats: RingEndpointStats = newStats();

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.#head = Atomics.load(this.control, headWord);
    this.#tailSeen = Atomics.load(this.control, tailWord);
  }

  /** Up to `wanted` published entries ready to read (0 when empty): `entry(0)` … `entry(k-1)`. */
  peek(wanted: number): number {
    let ready = (this.#tailSeen - this.#head) >>> 0;
    if (ready < wanted) {
      this.#tailSeen = Atomics.load(this.control, tailWord);
      ready = (this.#tailSeen - this.#head) >>> 0;
      if (ready === 0) this.stats.stalls++;
    }
    return Math.min(ready, wanted);
  }

  /** Word offset in `words` of the k-th unreleased entry. */
  entry(k: number): number {
    return this.offsetOf(this.#head + k);
  }

  /** Gives `count` read entries back to the producer with one head store; wakes it if it waits. */
  release(count: number): void {
    assert(
      count >= 0 && count <= ((this.#tailSeen - this.#head) >>> 0),
      "release at most the peeked entries",
    );
    if (count === 0) return;
    this.#head = (this.#head + count) | 0;
    Atomics.store(this.control, headWord, this.#head);
    this.stats.entries += count;
    this.stats.batches++;
    if (Atomics.load(this.control, producerSleepingWord) === 1) {
      Atomics.notify(this.control, headWord);
      this.stats.wakesSent++;
      crossings.add("syscall", 1);
    }
  }

  /**
   * Polls up to `spins` times, then blocks (Worker only) until an entry is published or
   * `timeoutMs` passes.
   */
  waitForEntries(timeoutMs = Infinity, spins = 0): RingWaitResult {
    for (let s = 0; s < spins; s++) if (this.peek(1) > 0) return "ready";
    return this.#sleep(timeoutMs, waitOn) as RingWaitResult;
  }

  /** Resolves when an entry is published or `timeoutMs` passes; never blocks the event loop. */
  waitForEntriesAsync(timeoutMs = Infinity): Promise<RingWaitResult> {
    return Promise.resolve(this.#sleep(timeoutMs, waitOnAsync));
  }

  #sleep<R>(
    timeoutMs: number,
    wait: (control: Int32Array, index: number, observed: number, timeoutMs: number) => R,
  ): R | RingWaitResult | Promise<RingWaitResult> {
    if (this.peek(1) > 0) return "ready";
    Atomics.store(this.control, consumerSleepingWord, 1);
    const tail = Atomics.load(this.control, tailWord);
    if (tail !== this.#tailSeen) { // the producer published between peek() and the flag store
      Atomics.store(this.control, consumerSleepingWord, 0);
      this.#tailSeen = tail;
      return "ready";
    }
    this.stats.sleeps++;
    crossings.add("syscall", 1);
    const outcome = wait(this.control, tailWord, tail, timeoutMs);
    const clear = (result: RingWaitResult): RingWaitResult => {
      Atomics.store(this.control, consumerSleepingWord, 0);
      return this.peek(1) > 0 ? "ready" : result;
    };
    if (outcome instanceof Promise) return outcome.then(clear);
    return clear(outcome as RingWaitResult);
  }
}
