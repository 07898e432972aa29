/**
 * What each kind of crossing costs on this machine (../shared/DESIGN.md, "What a crossing is
 * here"): a plain call, a runtime op, an FFI call with and without its syscall, a round trip to
 * a Worker over a shared ring (polled, and with a futex wake on both sides), a postMessage round
 * trip, and a loopback TCP round trip inside one isolate. Synchronous candidates run interleaved
 * through `compare`, asynchronous ones through `compareAsync`; one table, ratios against the
 * postMessage round trip (the hop a conventional design pays per step).
 *
 * Usage: deno task bench:crossings [--quick] [--out FILE]
 */
import {
  type AsyncCandidate,
  type Candidate,
  compare,
  compareAsync,
  machineLine,
  saveResult,
  table,
} from "./harness.ts";
import { createRing, RingConsumer, RingProducer } from "../io/ring/spsc_ring.ts";
import { cString, ffiInt, loadLibc, openFlags } from "../hw/libc.ts";

const quick = Deno.args.includes("--quick");
const options = quick ? { samples: 3, sampleMs: 10 } : { samples: 15, sampleMs: 40 };
const pollSpins = 1 << 20; // the polled worker never sleeps between back-to-back entries
const smallBytes = 64;

// --- the two workers -------------------------------------------------------------------------
function startWorker(): Worker {
  const worker = new Worker(new URL("./_crossings_worker.ts", import.meta.url).href, {
    type: "module",
  });
  return worker;
}

const sqBuffer = createRing({ capacity: 64, entryWords: 2 });
const cqBuffer = createRing({ capacity: 64, entryWords: 2 });
const submissions = new RingProducer(sqBuffer);
const completions = new RingConsumer(cqBuffer);
const ringWorker = startWorker();
await new Promise<void>((resolve) => {
  ringWorker.onmessage = () => resolve();
  ringWorker.postMessage({ sq: sqBuffer, cq: cqBuffer });
});
const messageWorker = startWorker();

/** The rings' control words, for an error message. */
function ringState(): string {
  const sq = new Int32Array(sqBuffer, 0, 48);
  const cq = new Int32Array(cqBuffer, 0, 48);
  return `sq head ${sq[16]} tail ${sq[32]} sleeping ${sq[17]}/${sq[33]}, ` +
    `cq head ${cq[16]} tail ${cq[32]} sleeping ${cq[17]}/${cq[33]}`;
}

/** Polled waits that went 50 ms without progress and woke the worker unasked (see below). */
let kicks = 0;

/**
 * Spins until `ready()`; bounded. After 50 ms without progress it notifies the worker's
 * submission futex unasked (a lost wake-up would otherwise hang here; `kicks` counts them), and
 * after 10 s it gives up with the rings' state.
 */
function spinUntil(ready: () => boolean, what: string): void {
  let started = 0;
  let kicked = false;
  for (let n = 1; !ready(); n++) {
    if ((n & 0xffff) !== 0) continue;
    const now = performance.now();
    if (started === 0) started = now;
    else if (!kicked && now - started > 50) {
      kicked = true;
      kicks++;
      submissions.wake();
    } else if (now - started > 10_000) throw new Error(`no ${what} for 10 s: ${ringState()}`);
  }
}

function submit(seq: number, spins: number): void {
  spinUntil(() => submissions.reserve(1) > 0, "submission slot"); // the worker always drains
  const at = submissions.slot(0);
  submissions.words[at] = seq;
  submissions.words[at + 1] = spins;
  submissions.publish(1);
}

function takeCompletion(seq: number): void {
  const got = completions.words[completions.entry(0)];
  if (got !== seq) throw new Error(`Ring echo out of order: sent ${seq}, got ${got}`);
  completions.release(1);
}

/** Ring waits that saw no completion within a second (a stalled machine, or a lost wake). */
let waitsOverOneSecond = 0;

/**
 * Counts a wait that timed out; the 10th in a row for one entry ends the run with the rings'
 * state, instead of waiting for ever on a worker that stopped serving (as one did when an unasked
 * wake found its ring empty: _crossings_worker.ts now goes back to waiting).
 */
function waitOverOneSecond(inARow: number): void {
  waitsOverOneSecond++;
  if (inARow >= 10) throw new Error(`no completion for 10 s: ${ringState()}`);
}

// --- synchronous candidates ------------------------------------------------------------------
let sink = 0;
function plainCall(i: number): number {
  return (i * 31) ^ (i >>> 3);
}

const zero = Deno.openSync("/dev/zero", { read: true });
const opBuffer = new Uint8Array(smallBytes);
const libc = loadLibc();
const zeroFd = libc ? libc.open(cString("/dev/zero"), openFlags.readOnly, 0) : -1;
const ffiBuffer = new Uint8Array(smallBytes);

const syncCandidates: Candidate[] = [
  { name: "plain call", run: (i) => (sink ^= plainCall(i)) },
  { name: "runtime op (FsFile.readSync 64 B /dev/zero)", run: () => zero.readSync(opBuffer) },
];
if (libc) {
  syncCandidates.push(
    { name: "FFI call, no syscall (__errno_location)", run: () => libc.__errno_location() },
    {
      name: "FFI call + syscall (pread 64 B /dev/zero)",
      run: () => libc.pread(zeroFd, ffiBuffer, ffiInt(smallBytes), ffiInt(0)),
    },
  );
}
syncCandidates.push(
  {
    name: "ring round trip to a Worker, polled",
    run: (i) => {
      submit(i, pollSpins);
      spinUntil(() => completions.peek(1) > 0, "completion");
      takeCompletion(i);
    },
  },
  {
    name: "ring round trip to a Worker, futex wake both ways",
    run: (i) => {
      submit(i, 0);
      for (let waits = 0; completions.peek(1) === 0;) {
        if (completions.waitForEntries(1_000) === "timed-out") waitOverOneSecond(++waits);
      }
      takeCompletion(i);
    },
  },
);

// --- asynchronous candidates -----------------------------------------------------------------
let messageResolve: ((value: unknown) => void) | undefined;
messageWorker.onmessage = (event) => messageResolve?.(event.data);

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
client.setNoDelay(true);
const server = await listener.accept();
server.setNoDelay(true);
const tcpByte = new Uint8Array(1);
const tcpEcho = new Uint8Array(1);
const tcpReply = new Uint8Array(1);
(async () => {
  try {
    for (;;) {
      const n = await server.read(tcpEcho);
      if (n === null) return;
      await server.write(tcpEcho.subarray(0, n));
    }
  } catch {
    // closed at the end of the run
  }
})();

const asyncCandidates: AsyncCandidate[] = [
  {
    name: "ring round trip, Worker wakes, kernel awaits waitAsync",
    run: async (i) => {
      submit(i, 0);
      for (let waits = 0; completions.peek(1) === 0;) {
        if (await completions.waitForEntriesAsync(1_000) === "timed-out") {
          waitOverOneSecond(++waits);
        }
      }
      takeCompletion(i);
    },
  },
  {
    name: "postMessage round trip (message hop)",
    run: (i) =>
      new Promise((resolve) => {
        messageResolve = resolve;
        messageWorker.postMessage(i);
      }),
  },
  {
    name: "loopback TCP round trip, one isolate",
    run: async () => {
      tcpByte[0] = 7;
      await client.write(tcpByte);
      let got: number | null = 0;
      while (got === 0) got = await client.read(tcpReply);
      if (got === null) throw new Error("the loopback echo closed its connection");
    },
  },
];

const syncResults = compare(syncCandidates, options);
const asyncResults = await compareAsync(asyncCandidates, options);
const results = [...syncResults, ...asyncResults];
const baseline = "postMessage round trip (message hop)";
console.log(`Crossing costs, per operation — ${machineLine()}\n`);
console.log(table(results, baseline));
console.log(
  `\nRing wakes: kernel side sent ${submissions.stats.wakesSent} notifies for ` +
    `${submissions.stats.entries} submissions, slept ${completions.stats.sleeps} times; ` +
    `${waitsOverOneSecond} waits saw nothing for over a second; ${kicks} polled waits stalled ` +
    "50 ms and woke the worker unasked.",
);
const figures = {
  machine: machineLine(),
  options,
  baseline,
  results,
  waitsOverOneSecond,
  kicks,
  sink,
};
// --out FILE writes the figures there (exodb bench's crossings suite reads them back).
const outAt = Deno.args.indexOf("--out");
if (outAt >= 0 && Deno.args[outAt + 1] !== undefined) {
  Deno.writeTextFileSync(Deno.args[outAt + 1]!, JSON.stringify(figures, null, 2) + "\n");
} else saveResult(quick ? "crossings.quick" : "crossings", figures);

client.close();
server.close();
listener.close();
zero.close();
if (libc && zeroFd >= 0) libc.close(zeroFd);
// Stop the ring service first: a Worker blocked in Atomics.wait does not end on terminate().
const stopped = new Promise<void>((resolve) => ringWorker.onmessage = () => resolve());
submit(-1, 0);
let stopTimer: ReturnType<typeof setTimeout> | undefined;
await Promise.race([stopped, new Promise((resolve) => stopTimer = setTimeout(resolve, 2_000))]);
clearTimeout(stopTimer);
ringWorker.terminate();
messageWorker.terminate();
