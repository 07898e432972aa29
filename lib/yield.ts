/**
 * Cooperative yield points for long work on the one kernel thread. Work runs in slices of
 * about `sliceMs`; at a yield point inside a slice nothing happens, after it the caller steps
 * aside so other sessions, timers and socket reads get their turn.
 *
 * One yield mechanism: work that runs as a task of the kernel's scheduler (client statements,
 * maintenance) yields through its task's {@link TaskContext}, so the scheduler picks who runs
 * next; {@link yieldPoint} with a context does exactly that. Work outside any scheduler (tools,
 * tests, a checkpoint the log's fill level started) yields through the process-wide time slicer
 * below ({@link timeSlicedContext}).
 *
 * How the turn is given, measured on Deno 2.9 (see bench/results/README.md, "Yield points"):
 * - `setTimeout(0)` costs about 2 ms of idle time per yield (timer clamping): a long scan that
 *   yields per batch spent most of its time asleep.
 * - `setImmediate` costs about 3 µs but lets the event loop poll sockets only rarely (a socket
 *   read waited ~60 ms behind a busy loop).
 * - An async op that completes at once (a 1-byte digest) makes the loop poll I/O: ~2 ms socket
 *   latency behind a busy loop at ~90% of the throughput of never yielding (polling every 2 ms;
 *   the digest then cost 5% of a join's time, so every 5 ms).
 * So: `setImmediate` between slices, and an immediately completing async op at least every
 * `pollMs`. The scheduler's grant deferral (kernel/scheduler.ts) follows the same rule.
 */
import { setImmediate } from "node:timers";
import type { TaskContext } from "./task_context.ts";

/** Slice length: work between yields, in milliseconds. */
export const sliceMs = 1;
/** Longest time without letting the event loop poll sockets and timers, in milliseconds. */
export const pollMs = 5;

let sliceStartMs = performance.now();
let lastPollMs = sliceStartMs;
const resolved = Promise.resolve();
const pollInput = new Uint8Array(1);

/**
 * Resolves at once inside the current slice; otherwise after other work had its turn. With a
 * `context` (a scheduled task) the task's scheduler decides; without, the time slicer.
 */
export function yieldPoint(context?: TaskContext): Promise<void> {
  if (context !== undefined) return context.shouldYield() ? context.yield() : resolved;
  const now = performance.now();
  if (now - sliceStartMs < sliceMs) return resolved;
  return slicerYield(now);
}

function slicerYield(now: number): Promise<void> {
  sliceStartMs = now;
  if (now - lastPollMs >= pollMs) {
    lastPollMs = now;
    return crypto.subtle.digest("SHA-1", pollInput).then(() => {
      sliceStartMs = performance.now();
    });
  }
  return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    sliceStartMs = performance.now();
  });
}

/**
 * The time slicer as a TaskContext, for long work started outside any scheduler: asks to yield
 * once the process-wide slice is used, and yields through the event loop.
 */
export const timeSlicedContext: TaskContext = {
  taskClass: "background",
  shouldYield: () => performance.now() - sliceStartMs >= sliceMs,
  yield: () => slicerYield(performance.now()),
  suspend: <T>(work: Promise<T>) => work,
  signal: undefined,
};
