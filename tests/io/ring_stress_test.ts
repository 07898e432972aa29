import assert from "node:assert/strict";
import { createRing, RingConsumer, RingProducer } from "../../io/ring/spsc_ring.ts";
import { Rng } from "../../lib/rng.ts";
import { entryChecksum, sqEntryWords } from "./_ring_stress_entry.ts";

interface WorkerReport {
  kind: "report";
  errors: string[];
  consumed: number;
  consumerSleeps: number;
  producerSleeps: number;
  completionFullStalls: number;
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* spin */ }
}

// Two isolates, two small rings (so they fill and drain constantly), random batch sizes and
// pauses on both sides: every entry must arrive exactly once, in order, with its payload intact,
// and come back through the completion ring the same way.
for (const seed of [1, 0xc0ffee]) {
  Deno.test(`ring stress across a Worker: nothing lost, duplicated or reordered (seed ${seed})`, async () => {
    const total = 60_000;
    const sqBuffer = createRing({ capacity: 16, entryWords: sqEntryWords }, {
      initialCounter: 0x7fffff00 | 0, // cross the int32 wrap during the run
    });
    const cqBuffer = createRing({ capacity: 8, entryWords: 2 }, { initialCounter: -200 });
    const submissions = new RingProducer(sqBuffer);
    const completions = new RingConsumer(cqBuffer);
    const worker = new Worker(new URL("./_ring_stress_worker.ts", import.meta.url).href, {
      type: "module",
    });
    let started!: () => void;
    const ready = new Promise<void>((resolve) => started = resolve);
    let finished = false; // the worker has stopped: waiting on it would only time out
    const report = new Promise<WorkerReport>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerReport | { kind: "ready" }>) => {
        if (event.data.kind === "ready") return started();
        finished = true;
        resolve(event.data);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        finished = true;
        reject(new Error(`worker failed: ${event.message}`));
      };
    });
    await ready;
    worker.postMessage({ sq: sqBuffer, cq: cqBuffer, seed: seed + 1, total });
    const rng = new Rng(seed);
    const sums = new Int32Array(total);
    let produced = 0;
    let completed = 0;
    let mainWaits = 0;
    let paused = false;
    try {
      while (completed < total) {
        let progressed = false;
        // Once, half way: stop sending, drain, and pause with both rings empty, so the worker
        // must sleep (on a busy machine the random pauses alone may never leave it idle).
        const draining = !paused && produced >= total / 2;
        if (draining && completed === produced) {
          paused = true;
          await new Promise((resolve) => setTimeout(resolve, 30));
          continue;
        }
        if (produced < total && !draining) {
          const k = submissions.reserve(Math.min(1 + rng.nextInt(24), total - produced));
          for (let i = 0; i < k; i++) {
            const at = submissions.slot(i);
            const words = submissions.words;
            const length = rng.nextInt(6);
            words[at] = produced;
            words[at + 1] = length;
            for (let w = 0; w < 5; w++) words[at + 2 + w] = w < length ? rng.nextU32() | 0 : 0;
            const sum = entryChecksum(words, at);
            words[at + sqEntryWords - 1] = sum;
            sums[produced++] = sum;
          }
          submissions.publish(k);
          progressed ||= k > 0;
        }
        const ready = completions.peek(1 + rng.nextInt(24));
        for (let i = 0; i < ready; i++) {
          const at = completions.entry(i);
          const seq = completions.words[at]!;
          assert.equal(seq, completed, "completions arrive in order, each once");
          assert.equal(completions.words[at + 1], sums[seq], `entry ${seq} arrived intact`);
          completed++;
        }
        completions.release(ready);
        progressed ||= ready > 0;
        if (!progressed && finished) break;
        if (!progressed) {
          // Submission ring full (or all sent) and completion ring empty: the worker is busy.
          // Waiting for space is safe only while the completion ring has room for the worker.
          mainWaits++;
          const which = produced < total && rng.nextInt(2) === 0 ? "space" : "completions";
          const outcome = which === "space"
            ? await submissions.waitForSpaceAsync(5_000)
            : await completions.waitForEntriesAsync(5_000);
          if (outcome === "timed-out" && !finished) {
            const sq = new Int32Array(sqBuffer, 0, 48);
            const cq = new Int32Array(cqBuffer, 0, 48);
            throw new Error(
              `stuck waiting for ${which}: sent ${produced}, completed ${completed}, ` +
                `sq head ${sq[16]} tail ${sq[32]} sleeping ${sq[17]}/${sq[33]}, ` +
                `cq head ${cq[16]} tail ${cq[32]} sleeping ${cq[17]}/${cq[33]}`,
            );
          }
        } else if (rng.nextInt(128) === 0) {
          spin(rng.nextFloat() * 0.2); // let the completion ring fill and the worker block
        }
      }
      const far = await report;
      assert.deepEqual(far.errors, []);
      assert.equal(completed, total);
      assert.equal(far.consumed, total);
      assert.equal(completions.peek(1), 0, "nothing extra arrived");
      // The run went through every transition it is meant to test.
      assert.ok(submissions.stats.stalls > 0, "the submission ring was found full");
      assert.ok(far.consumerSleeps > 0, "the worker slept on an empty submission ring");
      assert.ok(
        far.completionFullStalls + completions.stats.stalls > 0,
        "the completion ring was found full or empty",
      );
      assert.ok(mainWaits > 0, "the main isolate waited asynchronously");
      assert.ok(submissions.stats.batches < total, "submissions were batched");
    } finally {
      worker.terminate();
    }
  });
}
