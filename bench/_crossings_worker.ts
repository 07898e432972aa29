/**
 * The far side of crossings_bench.ts. Two services:
 * - ring echo: reads entries [seq, spins] from the submission ring and answers [seq] on the
 *   completion ring; it polls `spins` times before sleeping in Atomics.wait (so the polled
 *   candidate never sleeps and the wake candidate always does);
 * - message echo: answers every postMessage with the same value.
 */
import { RingConsumer, RingProducer } from "../io/ring/spsc_ring.ts";

/** This isolate's side of the Worker channel (typed here: the checker sees the window lib). */
const port = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

interface Start {
  sq: SharedArrayBuffer;
  cq: SharedArrayBuffer;
}

let lastSpins = 0;

/** An entry with this sequence number stops the ring service (the bench is done). */
const stopSeq = -1;

function serveRing(submissions: RingConsumer, completions: RingProducer): void {
  for (;;) {
    if (submissions.peek(1) === 0) submissions.waitForEntries(Infinity, lastSpins);
    const ready = submissions.peek(64);
    if (ready === 0) continue; // woken with nothing to do (an unasked wake, a timeout)
    let room = completions.reserve(ready);
    while (room === 0) {
      completions.waitForSpace();
      room = completions.reserve(ready);
    }
    for (let k = 0; k < room; k++) {
      const at = submissions.entry(k);
      lastSpins = submissions.words[at + 1]!;
      if (submissions.words[at] === stopSeq) return;
      completions.words[completions.slot(k)] = submissions.words[at]!;
    }
    completions.publish(room);
    submissions.release(room);
  }
}

port.onmessage = (event: MessageEvent<Start | number>) => {
  const data = event.data;
  if (typeof data === "number") {
    port.postMessage(data);
    return;
  }
  // Ring service runs on its own Worker (it blocks its thread); this one is started for it.
  port.postMessage("ready");
  serveRing(new RingConsumer(data.sq), new RingProducer(data.cq));
  port.postMessage("stopped"); // out of Atomics.wait: terminate() can now end this isolate
};
