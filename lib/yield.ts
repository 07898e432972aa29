/**
 * Cooperative yield points for long work on the one kernel thread. Work runs in slices of
 * about `sliceMs`; at a yield point inside a slice nothing happens, after it the caller steps
 * aside so other sessions, timers and socket reads get their turn.
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
 * `pollMs`.
 */
import { setImmediate } from "node:timers";

/** Slice length: work between yields, in milliseconds. */
export const sliceMs = 1;
/** Longest time without letting the event loop poll sockets and timers, in milliseconds. */
export const pollMs = 5;

let sliceStartMs = performance.now();
let lastPollMs = sliceStartMs;
const resolved = Promise.resolve();
const pollInput = new Uint8Array(1);

/** Resolves at once inside the current slice; otherwise after other work had its turn. */
export function yieldPoint(): Promise<void> {
  const now = performance.now();
  if (now - sliceStartMs < sliceMs) return resolved;
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
