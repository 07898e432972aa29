/**
 * The far side of ring_stress_test.ts: consumes the submission ring with random batch sizes and
 * random pauses, checks every entry's sequence number and checksum, and echoes (sequence,
 * checksum-as-read) into the completion ring. Blocks with Atomics.wait when a ring is empty or
 * full, as an I/O worker would.
 */
import { RingConsumer, RingProducer } from "../../io/ring/spsc_ring.ts";
import { Rng } from "../../lib/rng.ts";
import { entryChecksum, sqEntryWords } from "./_ring_stress_entry.ts";

/** This isolate's side of the Worker channel (typed here: the checker sees the window lib). */
const port = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

port.postMessage({ kind: "ready" }); // the test starts only once this isolate is up

interface Start {
  sq: SharedArrayBuffer;
  cq: SharedArrayBuffer;
  seed: number;
  total: number;
}

port.onmessage = (event: MessageEvent<Start>) => {
  const { sq, cq, seed, total } = event.data;
  const submissions = new RingConsumer(sq);
  const completions = new RingProducer(cq);
  const rng = new Rng(seed);
  const errors: string[] = [];
  let expected = 0;
  while (expected < total && errors.length < 10) {
    if (submissions.peek(1) === 0) submissions.waitForEntries(5_000, rng.nextInt(64));
    const wanted = 1 + rng.nextInt(24);
    const ready = submissions.peek(wanted);
    if (ready === 0) continue;
    // Echo as many as the completion ring takes now; wait for room when it takes none.
    let room = completions.reserve(ready);
    while (room === 0) {
      completions.waitForSpace(5_000);
      room = completions.reserve(ready);
    }
    for (let k = 0; k < room; k++) {
      const at = submissions.entry(k);
      const words = submissions.words;
      const seq = words[at]!;
      if (seq !== expected) errors.push(`entry ${expected}: read sequence ${seq}`);
      const sum = entryChecksum(words, at);
      if (sum !== words[at + sqEntryWords - 1]) errors.push(`entry ${seq}: checksum mismatch`);
      const out = completions.slot(k);
      completions.words[out] = seq;
      completions.words[out + 1] = sum;
      expected++;
    }
    // Complete before freeing the submissions: a producer that sees free space then also sees
    // the completions, so waiting for space with an empty completion ring cannot deadlock.
    completions.publish(room);
    submissions.release(room);
    // Now and then dawdle so the submission ring fills up behind us.
    if (rng.nextInt(64) === 0) {
      const until = performance.now() + rng.nextFloat() * 0.2;
      while (performance.now() < until) { /* spin */ }
    }
  }
  port.postMessage({
    kind: "report",
    errors,
    consumed: expected,
    consumerSleeps: submissions.stats.sleeps,
    producerSleeps: completions.stats.sleeps,
    completionFullStalls: completions.stats.stalls,
  });
};
