/**
 * Crossing accounting. Every call that leaves the isolate's plain JS (a runtime op, an FFI call,
 * the syscall behind either, a thread hop, a socket read or write, a message hop) is counted here,
 * at the layer that makes it, with the bytes it moved and the copies it made. Upper layers read
 * snapshots and subtract them to get per-statement and per-session figures.
 *
 * Invariant: counters only grow; a snapshot minus an earlier snapshot is never negative.
 */

/** The kinds of crossing ExoDB counts (../shared/DESIGN.md, "What a crossing is here"). */
export const crossingKinds = [
  "runtime_op",
  "ffi_call",
  "syscall",
  "thread_hop",
  "socket_read",
  "socket_write",
  "message_hop",
] as const;

/** One kind of crossing. */
export type CrossingKind = (typeof crossingKinds)[number];

const kindIndex: Record<CrossingKind, number> = Object.fromEntries(
  crossingKinds.map((kind, index) => [kind, index]),
) as Record<CrossingKind, number>;

/** Counts, bytes and copies of one kind at one moment. */
export interface CrossingFigures {
  count: number;
  bytes: number;
  copies: number;
}

/** A snapshot of every counter, by kind. */
export type CrossingSnapshot = Record<CrossingKind, CrossingFigures>;

/** Counters for every crossing kind; one instance per process is exported as `crossings`. */
export class CrossingCounters {
  // Three slots per kind: count, bytes, copies. Float64 keeps exact integers up to 2^53.
  readonly #slots = new Float64Array(crossingKinds.length * 3);

  /** Records `count` crossings of `kind` moving `bytes` bytes with `copies` buffer copies. */
  add(kind: CrossingKind, count: number, bytes = 0, copies = 0): void {
    const base = kindIndex[kind] * 3;
    const slots = this.#slots;
    slots[base] = slots[base]! + count;
    slots[base + 1] = slots[base + 1]! + bytes;
    slots[base + 2] = slots[base + 2]! + copies;
  }

  /** Copies all counters out. */
  snapshot(): CrossingSnapshot {
    const out = {} as CrossingSnapshot;
    for (const kind of crossingKinds) {
      const base = kindIndex[kind] * 3;
      out[kind] = {
        count: this.#slots[base]!,
        bytes: this.#slots[base + 1]!,
        copies: this.#slots[base + 2]!,
      };
    }
    return out;
  }

  /**
   * Copies every counter into `target` (three slots per kind, in `crossingKinds` order: count,
   * bytes, copies) without allocating: for per-statement accounting on the hot path.
   */
  copyInto(target: Float64Array): void {
    target.set(this.#slots);
  }

  /** Total crossings of every kind except syscalls (which ride on an op or FFI call). */
  totalCount(): number {
    let total = 0;
    for (const kind of crossingKinds) {
      if (kind !== "syscall") total += this.#slots[kindIndex[kind] * 3]!;
    }
    return total;
  }
}

/** `later - earlier`, kind by kind. */
export function diffCrossings(
  later: CrossingSnapshot,
  earlier: CrossingSnapshot,
): CrossingSnapshot {
  const out = {} as CrossingSnapshot;
  for (const kind of crossingKinds) {
    out[kind] = {
      count: later[kind].count - earlier[kind].count,
      bytes: later[kind].bytes - earlier[kind].bytes,
      copies: later[kind].copies - earlier[kind].copies,
    };
  }
  return out;
}

/** Slots a {@link CrossingCounters.copyInto} target needs. */
export const crossingSlotsCount = crossingKinds.length * 3;

/** The process-wide counters. */
export const crossings: CrossingCounters = new CrossingCounters();
