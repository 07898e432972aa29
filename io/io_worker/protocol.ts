/**
 * The I/O worker's ring protocol: what the kernel writes into a submission entry and what the
 * worker writes back into a completion entry. Both sides live in one process (one address
 * space), so a submission carries the raw address of the memory to transfer — a buffer-pool
 * frame or a log buffer — and the worker moves bytes straight between it and the file: no copy.
 *
 * Submission entry (`submissionShape.entryWords` 32-bit words):
 *
 * | word | field   | meaning                                                             |
 * | ---: | ------- | ------------------------------------------------------------------- |
 * |    0 | op      | an {@link IoOp}                                                     |
 * |    1 | fd      | the file descriptor (opened by the kernel; descriptors are per process) |
 * |    2 | id      | the request number, echoed in the completion                        |
 * |    3 | count   | iovec entries for `preadv`/`pwritev`, else 0                         |
 * |  4–5 | address | f64: the buffer (or the iovec array) address                        |
 * |  6–7 | length  | f64: bytes to move (the iovec total for vectored ops)               |
 * |  8–9 | offset  | f64: file offset in bytes; for `fdatasync`, the write generation     |
 *
 * Completion entry: word 0 id, word 1 errno (0 on success), words 2–3 f64 result (bytes moved).
 *
 * Invariants:
 * 1. The worker runs submissions in ring order, one at a time, so a read submitted after a
 *    write to the same place sees it, and an `fdatasync` covers every write submitted before it.
 * 1a. Write generation: the kernel numbers every write it makes or submits (one counter for
 *    all descriptors) — on the worker or by FFI on its own thread (the "mixed" path) — and an
 *    `fdatasync` carries the number of its descriptor's last write. Every write up to that count has completed (or runs earlier
 *    in the ring) before the sync starts, so the worker may answer it from an earlier successful
 *    sync only when that sync carried at least the same number.
 * 2. Every submission gets exactly one completion with its id (the stop request included).
 * 3. Memory named by a submission stays alive and unchanged until its completion is consumed.
 */

/** Operations of the ring. */
export const IoOp = {
  pread: 1,
  pwrite: 2,
  preadv: 3,
  pwritev: 4,
  fdatasync: 5,
  /** Ends the worker's loop after completing it. */
  stop: 6,
  /** `pwrite` of the whole buffer, then `fdatasync` (a log flush: one request, one hop). */
  pwriteSync: 7,
} as const;

/** One operation code. */
export type IoOp = (typeof IoOp)[keyof typeof IoOp];

/** Shape of the submission ring. */
export const submissionShape = { capacity: 256, entryWords: 10 } as const;
/** Shape of the completion ring (same capacity: at most one completion per submission). */
export const completionShape = { capacity: 256, entryWords: 4 } as const;

// Word and float indexes inside an entry.
export const sOp = 0;
export const sFd = 1;
export const sId = 2;
export const sCount = 3;
/** Float index (entry offset / 2 + this) of the address. */
export const sAddressF = 2;
export const sLengthF = 3;
export const sOffsetF = 4;
export const cId = 0;
export const cErrno = 1;
export const cResultF = 1;

/** Figures the worker keeps in shared memory (Float64Array slots), read by the stat views. */
export const workerStatSlots = [
  "batches",
  "syscalls",
  "reads",
  "writes",
  "bytesRead",
  "bytesWritten",
  "syncs",
  "syncsCoalesced",
  "sleeps",
] as const;

/** One worker figure. */
export type WorkerStat = (typeof workerStatSlots)[number];

/** Bytes of the shared stats area. */
export const workerStatsBytes = workerStatSlots.length * 8;

/** What the kernel posts to a starting worker (once; everything after goes through the rings). */
export interface WorkerInit {
  submissions: SharedArrayBuffer;
  completions: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** libc to open, or undefined for the worker's own default. */
  libcPath: string | undefined;
  /** Polls of an empty submission ring before sleeping on it. */
  idleSpins: number;
}
