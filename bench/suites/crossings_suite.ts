/**
 * Suite 1, crossing costs: what one crossing of each kind costs on this machine, measured with
 * bench/harness.ts (candidates interleaved, median per crossing, 95% confidence half-width).
 * The shared-ring rows wait for the ring issue (io/ring/); they are listed as pending.
 */
import { libcPath } from "../../hw/libc.ts";
import { compare, compareAsync, type Measurement } from "../harness.ts";
import type { Suite } from "../runner/suite.ts";
import { markdownTable } from "../runner/suite.ts";
import { formatNs } from "../harness.ts";

/** Sample counts for one run. */
export interface CrossingsParams {
  samples: number;
  sampleMs: number;
}

/** The suite's figures. */
export interface CrossingsFigures {
  measurements: Measurement[];
  pending: string[];
}

const pendingKinds = ["shared ring round trip (polled)", "shared ring round trip (with wake)"];

function plainCall(): (i: number) => number {
  // Behind an array so the call site stays a real call the JIT cannot fold into a constant.
  const fns = [(x: number) => x + 1, (x: number) => x + 2];
  return (i) => fns[i & 1]!(i);
}

function echoServer(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(64);
        try {
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            await conn.write(buffer.subarray(0, n));
          }
        } catch { /* closed */ }
        conn.close();
      })();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

/** Suite 1. */
export const crossingsSuite: Suite<CrossingsParams, CrossingsFigures> = {
  name: "crossings",
  title: "Crossing costs",
  quick: { samples: 5, sampleMs: 10 },
  full: { samples: 21, sampleMs: 40 },
  steps: () => 3,
  async run(params, context) {
    const file = Deno.openSync(`${context.workDir}/seek.bin`, {
      read: true,
      write: true,
      create: true,
    });
    const path = libcPath();
    const libc = path === undefined ? undefined : Deno.dlopen(path, {
      getppid: { parameters: [], result: "i32" },
    });
    const call = plainCall();
    const sync = compare([
      { name: "plain call (JS function)", run: call },
      { name: "runtime op (Deno.FsFile.seekSync → lseek)", run: (i) => file.seekSync(i & 7, 0) },
      ...(libc === undefined
        ? []
        : [{ name: "FFI call (libc getppid)", run: () => libc.symbols.getppid() }]),
    ], params);
    context.progress.step("plain call, runtime op, FFI call");

    const worker = new Worker(new URL("./echo_worker.ts", import.meta.url).href, {
      type: "module",
    });
    let resolveReply: (() => void) | undefined;
    worker.onmessage = () => resolveReply?.();
    const message = new Uint8Array(16);
    const server = echoServer();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    conn.setNoDelay(true);
    const one = new Uint8Array(1);
    const reply = new Uint8Array(1);
    const roundTrips = await compareAsync([
      {
        name: "message hop round trip (postMessage to a worker and back)",
        run: () =>
          new Promise<void>((resolve) => {
            resolveReply = resolve;
            worker.postMessage(message);
          }),
      },
      {
        name: "loopback TCP round trip (1 byte, TCP_NODELAY)",
        run: async () => {
          await conn.write(one);
          let got = 0;
          while (got < 1) got += (await conn.read(reply)) ?? 1;
        },
      },
    ], params);
    context.progress.step("message hop, loopback TCP");
    conn.close();
    server.close();
    worker.terminate();
    file.close();
    libc?.close();
    const measurements = [...sync, ...roundTrips];
    context.progress.step("done");

    const rows: (string | number)[][] = measurements.map((m) => [
      m.name,
      formatNs(m.medianNs),
      formatNs(m.ci95Ns),
      (m.medianNs / measurements[0]!.medianNs).toFixed(0) + "×",
    ]);
    for (const kind of pendingKinds) rows.push([kind, "pending the ring issue", "", ""]);
    const markdown = [
      "Median cost of one crossing, interleaved samples (±: 95% confidence half-width of the mean).",
      "",
      markdownTable(["crossing", "median", "±95%", "vs plain call"], rows),
      "",
      "![crossing costs](crossings.svg)",
      "",
      "The round trips include both directions and the far end's work (the echo worker, the echo",
      "server in the same process). The shared-ring rows (polled and with a wake) arrive with the",
      "ring issue (`io/ring/`).",
    ].join("\n");
    return {
      figures: { measurements, pending: pendingKinds },
      markdown,
      charts: [{
        kind: "bar",
        file: "crossings.svg",
        title: "Cost of one crossing",
        unit: "nanoseconds per crossing",
        logScale: true,
        bars: measurements.map((m) => ({
          label: m.name.replace(/ \(.*\)$/, ""),
          value: m.medianNs,
        })),
      }],
      summary: measurements.filter((m) => m.name !== measurements[0]!.name).map((m) => ({
        metric: `crossing: ${m.name.replace(/ \(.*\)$/, "")}`,
        value: `${formatNs(m.medianNs)} ± ${formatNs(m.ci95Ns)}`,
      })),
    };
  },
};
