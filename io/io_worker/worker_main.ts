/**
 * The I/O worker: a Worker isolate that takes block reads, writes and log syncs from the
 * submission ring, runs them as positional libc calls through FFI on the kernel's descriptors
 * and memory (one address space), and posts one completion per submission. The kernel thread
 * then makes no runtime op and no syscall for disk I/O: it stores entries and loads completions.
 *
 * Invariants (besides protocol.ts's):
 * 1. One batch = one peek of the submission ring; its completions are published with one tail
 *    store, and the consumed submissions released with one head store.
 * 2. An `fdatasync` whose write generation (protocol.ts, rule 1a) is covered by an earlier
 *    successful sync of its descriptor is answered from that sync (the worker's own group
 *    commit); after a failed sync, never. The generation, not the worker's own count of writes,
 *    decides: on the mixed path the kernel writes by FFI without the worker seeing it.
 * 3. The loop sleeps on the submission ring (futex) only after `idleSpins` empty polls.
 */
import { lastErrno, type LibcAddress, loadLibcAddress } from "../../hw/libc.ts";
import { RingConsumer, RingProducer } from "../ring/spsc_ring.ts";
import {
  cErrno,
  cId,
  cResultF,
  IoOp,
  sAddressF,
  sCount,
  sFd,
  sId,
  sLengthF,
  sOffsetF,
  sOp,
  type WorkerInit,
  workerStatSlots,
} from "./protocol.ts";

const stat = Object.fromEntries(workerStatSlots.map((name, index) => [name, index])) as Record<
  (typeof workerStatSlots)[number],
  number
>;

/** Per descriptor: the write generation the last successful sync covered, and whether the last sync succeeded. */
interface SyncState {
  syncedGeneration: number;
  lastSyncOk: boolean;
}

function run(init: WorkerInit): void {
  const libc = loadLibcAddress(init.libcPath);
  const submissions = new RingConsumer(init.submissions);
  const completions = new RingProducer(init.completions);
  const stats = new Float64Array(init.stats);
  const syncs = new Map<number, SyncState>();
  const sw = submissions.words;
  const sf = submissions.floats;
  let stopping = false;
  while (!stopping) {
    let ready = submissions.peek(submissions.capacity);
    if (ready === 0) {
      for (let spin = 0; spin < init.idleSpins && ready === 0; spin++) {
        ready = submissions.peek(submissions.capacity);
      }
      if (ready === 0) {
        stats[stat.sleeps]!++;
        submissions.waitForEntries();
        continue;
      }
    }
    stats[stat.batches]!++;
    let done = 0;
    while (done < ready) {
      // Completions first need room: the kernel drains them while it waits for space.
      let room = completions.reserve(ready - done);
      while (room === 0) {
        completions.waitForSpace(1);
        room = completions.reserve(ready - done);
      }
      for (let k = 0; k < room; k++) {
        const at = submissions.entry(done + k);
        const op = sw[at + sOp]! as IoOp;
        const out = completions.slot(k);
        completions.words[out + cId] = sw[at + sId]!;
        const { result, errno } = perform(
          libc,
          op,
          sw[at + sFd]!,
          sw[at + sCount]!,
          sf[at / 2 + sAddressF]!,
          sf[at / 2 + sLengthF]!,
          sf[at / 2 + sOffsetF]!,
          syncs,
          stats,
        );
        completions.words[out + cErrno] = errno;
        completions.floats[out / 2 + cResultF] = result;
        if (op === IoOp.stop) stopping = true;
      }
      submissions.release(room);
      completions.publish(room);
      done += room;
    }
    // Wake the kernel even if it did not say it sleeps: its asynchronous waiter (waitAsync)
    // may be registered while its synchronous waits come and go (see ring_io.ts).
    completions.wake();
  }
}

function perform(
  libc: LibcAddress | undefined,
  op: IoOp,
  fd: number,
  count: number,
  address: number,
  length: number,
  offset: number,
  syncs: Map<number, SyncState>,
  stats: Float64Array,
): { result: number; errno: number } {
  if (op === IoOp.stop) return { result: 0, errno: 0 };
  if (libc === undefined) return { result: -1, errno: 38 /* ENOSYS */ };
  if (op === IoOp.fdatasync) {
    const generation = offset; // rule 2: the sync's write generation rides in the offset field
    let sync = syncs.get(fd);
    if (sync === undefined) {
      sync = { syncedGeneration: -1, lastSyncOk: false };
      syncs.set(fd, sync);
    }
    if (sync.lastSyncOk && generation <= sync.syncedGeneration) {
      stats[stat.syncsCoalesced]!++;
      return { result: 0, errno: 0 };
    }
    stats[stat.syscalls]!++;
    stats[stat.syncs]!++;
    const rc = libc.fdatasync(fd);
    sync.lastSyncOk = rc === 0;
    if (rc !== 0) return { result: -1, errno: lastErrno(libc) || 5 };
    if (generation > sync.syncedGeneration) sync.syncedGeneration = generation;
    return { result: 0, errno: 0 };
  }
  const pointer = Deno.UnsafePointer.create(BigInt(address));
  stats[stat.syscalls]!++;
  let n: number;
  switch (op) {
    case IoOp.pread:
      n = Number(libc.pread(fd, pointer, BigInt(length), BigInt(offset)));
      break;
    case IoOp.pwrite:
      n = Number(libc.pwrite(fd, pointer, BigInt(length), BigInt(offset)));
      break;
    case IoOp.preadv:
      n = Number(libc.preadv(fd, pointer, count, BigInt(offset)));
      break;
    case IoOp.pwritev:
      n = Number(libc.pwritev(fd, pointer, count, BigInt(offset)));
      break;
    case IoOp.pwriteSync:
      n = Number(libc.pwrite(fd, pointer, BigInt(length), BigInt(offset)));
      break;
    default:
      return { result: -1, errno: 22 /* EINVAL */ };
  }
  if (n < 0) return { result: -1, errno: lastErrno(libc) || 5 };
  if (op === IoOp.pwrite || op === IoOp.pwritev || op === IoOp.pwriteSync) {
    stats[stat.writes]!++;
    stats[stat.bytesWritten]! += n;
    if (op === IoOp.pwriteSync && n === length) {
      // Its own write needs the sync, so it is never coalesced. Later plain syncs are not
      // answered from it (no generation rides along; theirs counts this write): correct, only
      // less thrifty. A failure forbids coalescing from then on (rule 2).
      stats[stat.syscalls]!++;
      stats[stat.syncs]!++;
      if (libc.fdatasync(fd) !== 0) {
        const sync = syncs.get(fd);
        if (sync !== undefined) sync.lastSyncOk = false;
        else syncs.set(fd, { syncedGeneration: -1, lastSyncOk: false });
        return { result: -1, errno: lastErrno(libc) || 5 };
      }
    }
  } else {
    stats[stat.reads]!++;
    stats[stat.bytesRead]! += n;
  }
  return { result: n, errno: 0 };
}

// Started as a Worker: one init message, then the rings only.
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerInit>) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = (event) => {
  scope.onmessage = null;
  scope.postMessage("ready");
  run(event.data);
  scope.postMessage("stopped");
};
